import type { Node } from 'node-red';
import type { PaymentGateway, StripeWebhookReceiver } from '../../adapters/stripe';
import type { ConfigProblem } from '../emr-server/emr-server-node';

/** What a `stripe-account` config node offers stripe-payment and stripe-webhook. */
export interface StripeAccountNode extends Node {
  gateway: PaymentGateway | undefined;
  gatewayProblem: ConfigProblem | undefined;
  webhook: StripeWebhookReceiver | undefined;
  webhookProblem: ConfigProblem | undefined;
  /** Endpoint name for the message store. */
  storeName: string;
  register(user: Node): void;
  deregister(user: Node): Promise<void>;
}
