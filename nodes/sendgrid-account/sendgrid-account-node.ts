import type { Node } from 'node-red';
import type { SendGridEmailSender, SendGridEventHandler } from '../../adapters/sendgrid';
import type { ConfigProblem } from '../emr-server/emr-server-node';

/** What a `sendgrid-account` config node offers sendgrid-email and sendgrid-webhook. */
export interface SendGridAccountNode extends Node {
  sender: SendGridEmailSender | undefined;
  senderProblem: ConfigProblem | undefined;
  events: SendGridEventHandler | undefined;
  eventsProblem: ConfigProblem | undefined;
  storeName: string;
  register(user: Node): void;
  deregister(user: Node): Promise<void>;
}
