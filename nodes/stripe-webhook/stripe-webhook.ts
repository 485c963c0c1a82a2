import type { Node, NodeAPI, NodeDef } from 'node-red';
import { WebhookRejectedError, WebhookReplayError } from '../../adapters/phi-guard';
import { errorCode, IntegrationError } from '../../adapters/shared/errors';
import { postingFromEvent } from '../../adapters/stripe';
import type { PaymentPosting } from '../../adapters/stripe';
import type { MessageRecord } from '../../adapters/store';
import { mountWebhook, webhookPath } from '../emr-in/webhook-endpoint';
import type { MountedWebhook, WebhookAnswer } from '../emr-in/webhook-endpoint';
import { hubServicesOrNull } from '../emr-out/outbound';
import { FollowedSource } from '../shared/followed-source';
import { followTimeoutOf } from '../shared/follow-timeout';
import { setStatus } from '../shared/status';
import type { StripeAccountNode } from '../stripe-account/stripe-account-node';

interface StripeWebhookDef extends NodeDef {
  account: string;
  path: string;
  /** How long the flow may take with an event (ms); blank for the default (see followTimeoutMs). */
  processingTimeoutMs?: string | number;
}

/** What a stored event is sent on as. */
interface StoredPosting {
  posting: PaymentPosting;
  eventId: string;
  eventType: string;
}

/** Reads a stored event back into its posting; throws when it holds none (it was stored for one). */
function storedPosting(body: Buffer): StoredPosting {
  const event = JSON.parse(body.toString('utf8')) as Parameters<typeof postingFromEvent>[0];
  const posting = postingFromEvent(event);
  if (!posting) throw new IntegrationError('the stored Stripe event holds no payment posting', 'CONFIG', false);
  return { posting, eventId: event.id, eventType: event.type };
}

/**
 * Stripe's webhook endpoint. `Stripe-Signature` is verified on the raw
 * body, old signatures and processed event ids are refused; a payment
 * event (succeeded, failed, refunded) is stored, Stripe is answered 200
 * after the commit, and the ledger posting is emitted. Stripe redelivering
 * an event we processed (our 200 was lost) gets 200 again, not a new msg.
 *
 * The record stays `processing` until the flow has finished with the
 * posting (`sent`, or `error`); one a previous run left `processing` (a
 * crash after the 200) goes through the flow again once the flows have
 * started, and an operator can reprocess one: Stripe will not resend it.
 */
export = function init(RED: NodeAPI): void {
  function StripeWebhook(this: Node, def: StripeWebhookDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as StripeAccountNode | null;
    let mounted: MountedWebhook | undefined;
    let source: FollowedSource<StoredPosting> | undefined;
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
      const timeoutMs = followTimeoutOf(node, def.processingTimeoutMs, RED._('stripe-webhook.status.config-error'));
      if (timeoutMs === null) return;
      const followed = new FollowedSource<StoredPosting>(RED, node, {
        store,
        timeoutMs,
        endpoint,
        reprocessors: services.reprocessors,
        prepare: (record) => storedPosting(record.body),
        toMsg: (hubMessageId, { posting, eventId, eventType }) => ({
          _msgid: RED.util.generateId(),
          payload: posting,
          posting,
          stripeEvent: { id: eventId, type: eventType },
          hubMessageId,
          controlId: eventId,
          messageType: `stripe.${eventType}`,
        }),
        recoverErrorKey: 'stripe-webhook.errors.recover',
        reprocessRefusal: 'only an event this node received can be reprocessed',
      });
      source = followed;
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
              status: 'processing',
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
            after: () => followed.send(stored.id, { posting, eventId: outcome.eventId, eventType: outcome.eventType }),
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
      const closing = source;
      source = undefined;
      Promise.resolve(closing?.close())
        .then(() => account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('stripe-webhook.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('stripe-webhook', StripeWebhook);
};
