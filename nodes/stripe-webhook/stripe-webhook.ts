import type { Node, NodeAPI, NodeDef } from 'node-red';
import { WebhookRejectedError, WebhookReplayError } from '../../adapters/phi-guard';
import { errorCode } from '../../adapters/shared/errors';
import type { PaymentPosting } from '../../adapters/stripe';
import type { MessageRecord } from '../../adapters/store';
import { mountWebhook, webhookPath } from '../emr-in/webhook-endpoint';
import type { MountedWebhook, WebhookAnswer } from '../emr-in/webhook-endpoint';
import { hubServicesOrNull } from '../emr-out/outbound';
import { setStatus } from '../shared/status';
import type { StripeAccountNode } from '../stripe-account/stripe-account-node';

interface StripeWebhookDef extends NodeDef {
  account: string;
  path: string;
}

/**
 * Stripe's webhook endpoint. `Stripe-Signature` is verified on the raw
 * body, old signatures and processed event ids are refused; a payment
 * event (succeeded, failed, refunded) is stored, Stripe is answered 200
 * after the commit, and the ledger posting is emitted. Stripe redelivering
 * an event we processed (our 200 was lost) gets 200 again, not a new msg.
 */
export = function init(RED: NodeAPI): void {
  function StripeWebhook(this: Node, def: StripeWebhookDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as StripeAccountNode | null;
    let mounted: MountedWebhook | undefined;
    let received = 0;

    const start = (): void => {
      if (!account) {
        node.error(RED._('stripe-webhook.errors.no-account'));
        setStatus(node, 'error', RED._('stripe-webhook.status.not-configured'));
        return;
      }
      account.register(node);
      const receiver = account.webhook;
      if (!receiver) {
        setStatus(node, 'error', RED._(account.webhookProblem === 'invalid' ? 'stripe-webhook.status.config-error' : 'stripe-webhook.status.not-configured'));
        return;
      }
      const services = hubServicesOrNull();
      if (!services) {
        node.error(RED._('stripe-webhook.errors.no-store'));
        setStatus(node, 'error', RED._('stripe-webhook.status.no-store'));
        return;
      }
      const { store } = services;
      const endpoint = def.name || account.storeName;
      mounted = mountWebhook(RED, node, services.publicRoutes, webhookPath(def.path || '/stripe/webhook'), async (req): Promise<WebhookAnswer> => {
        let record: MessageRecord | undefined;
        try {
          const outcome = await receiver.handle(req.rawBody, req.headers, async (posting) => {
            record = await store.insert({
              flowId: node.z ?? null,
              nodeId: node.id,
              direction: 'inbound',
              endpoint,
              controlId: posting.stripeEventId,
              messageType: `stripe.${posting.eventType}`,
              parentId: posting.hubMessageId,
              status: 'received',
              contentType: 'application/json',
              body: req.rawBody,
            });
          });
          const posting: PaymentPosting | null = outcome.posting;
          const stored = record;
          if (!posting || !stored) return { status: 200, body: { received: true } };
          received += 1;
          setStatus(node, 'connected', RED._('stripe-webhook.status.received', { count: received }));
          return {
            status: 200,
            body: { received: true },
            after: () =>
              node.send({
                _msgid: RED.util.generateId(),
                payload: posting,
                posting,
                stripeEvent: { id: outcome.eventId, type: outcome.eventType },
                hubMessageId: stored.id,
                controlId: outcome.eventId,
                messageType: `stripe.${outcome.eventType}`,
              }),
          };
        } catch (err) {
          // A redelivery of a processed event: it was handled, so say so and stop Stripe's retries.
          if (err instanceof WebhookReplayError && err.reason === 'replayed') return { status: 200, body: { received: true, duplicate: true } };
          if (err instanceof WebhookRejectedError) {
            setStatus(node, 'error', RED._('stripe-webhook.status.rejected', { reason: err.reason }));
            return { status: err.httpStatus, body: { error: err.reason } };
          }
          // The store failed: the claim was released, so Stripe's retry is processed.
          node.warn(RED._('stripe-webhook.errors.store', { code: errorCode(err) }));
          setStatus(node, 'error', RED._('stripe-webhook.status.error', { code: errorCode(err) }));
          return { status: 503, body: { error: 'store-failed' } };
        }
      });
      setStatus(node, 'connected', RED._('stripe-webhook.status.listening'));
    };

    try {
      start();
    } catch (err) {
      node.error(RED._('stripe-webhook.errors.mount', { reason: err instanceof Error ? err.message : String(err) }));
      setStatus(node, 'error', RED._('stripe-webhook.status.config-error'));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      mounted?.close();
      mounted = undefined;
      Promise.resolve(account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('stripe-webhook.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('stripe-webhook', StripeWebhook);
};
