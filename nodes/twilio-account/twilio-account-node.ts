import type { Node } from 'node-red';
import type { TwilioCallbackHandler, TwilioSmsSender } from '../../adapters/twilio';
import type { ConfigProblem } from '../emr-server/emr-server-node';

/** What a `twilio-account` config node offers twilio-sms and twilio-webhook. */
export interface TwilioAccountNode extends Node {
  sender: TwilioSmsSender | undefined;
  senderProblem: ConfigProblem | undefined;
  callbacks: TwilioCallbackHandler | undefined;
  callbacksProblem: ConfigProblem | undefined;
  /** Public URL of the hub's HTTP node root as Twilio reaches it, without a trailing slash. */
  publicBaseUrl: string;
  /** Path (under the node root) of the status callback endpoint twilio-webhook serves. */
  statusPath: string;
  storeName: string;
  register(user: Node): void;
  deregister(user: Node): Promise<void>;
}
