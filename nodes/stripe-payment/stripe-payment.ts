import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import type { BalanceInvoiceRequest, BalancePaymentRequest } from '../../adapters/stripe';
import { beginOutbound, failMsg, finishOutbound, nodeError, safeError } from '../emr-out/outbound';
import type { Msg, OutboundJob } from '../emr-out/outbound';
import { setStatus } from '../shared/status';
import type { StripeAccountNode } from '../stripe-account/stripe-account-node';

interface StripePaymentDef extends NodeDef {
  account: string;
  operation: 'intent' | 'invoice';
  currency: string;
}

/**
 * Creates a PaymentIntent (or a finalized invoice) for a patient balance.
 * The hub message id is Stripe's Idempotency-Key, so a retry returns the
 * object the first attempt created instead of charging twice. Only opaque
 * ids and amounts go to Stripe; the PHI policy checks every request first.
 */
export = function init(RED: NodeAPI): void {
  function StripePayment(this: Node, def: StripePaymentDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as StripeAccountNode | null;
    if (!account) {
      node.error(RED._('stripe-payment.errors.no-account'));
      setStatus(node, 'error', RED._('stripe-payment.status.not-configured'));
    } else {
      account.register(node);
      if (!account.gateway) setStatus(node, 'error', RED._(account.gatewayProblem === 'invalid' ? 'stripe-payment.status.config-error' : 'stripe-payment.status.not-configured'));
    }
    const operation = def.operation === 'invoice' ? 'invoice' : 'intent';
    let created = 0;

    const handle = async (msg: Msg, send: (msg: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      const gateway = account?.gateway;
      if (!account || !gateway) {
        failMsg(msg, nodeError(RED._('stripe-payment.errors.not-configured'), 'CONFIG'), done);
        return;
      }
      let job: OutboundJob | undefined;
      try {
        const input = msg.payload;
        if (!input || typeof input !== 'object' || Array.isArray(input)) throw nodeError(RED._('stripe-payment.errors.no-request'), 'PARSE');
        const request = { currency: def.currency || 'usd', ...(input as Record<string, unknown>) };
        job = await beginOutbound(node, msg, { endpoint: account.storeName, messageType: operation === 'invoice' ? 'stripe.invoice' : 'stripe.payment_intent', body: () => JSON.stringify(request) });
        setStatus(node, 'processing', RED._('stripe-payment.status.sending'));
        msg.payment =
          operation === 'invoice'
            ? await gateway.createInvoice({ ...(request as unknown as BalanceInvoiceRequest), hubMessageId: job.key })
            : await gateway.createPaymentIntent({ ...(request as unknown as BalancePaymentRequest), hubMessageId: job.key });
        delete msg.retryable;
        await finishOutbound(node, job, 'sent');
        created += 1;
        setStatus(node, 'connected', RED._('stripe-payment.status.created', { count: created }));
        send(msg);
        done();
      } catch (err) {
        const safe = safeError(err, 'Stripe request');
        if (job) await finishOutbound(node, job, 'error', safe);
        setStatus(node, 'error', RED._('stripe-payment.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    };

    node.on('input', (msg, send, done) => {
      handle(msg as Msg, send, done).catch((err: unknown) => done(safeError(err, 'Stripe request')));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('stripe-payment.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('stripe-payment', StripePayment);
};
