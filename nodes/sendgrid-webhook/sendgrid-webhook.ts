import type { Node, NodeAPI, NodeDef } from 'node-red';
import { WebhookRejectedError } from '../../adapters/phi-guard';
import { errorCode } from '../../adapters/shared/errors';
import { mountWebhook, webhookPath } from '../emr-in/webhook-endpoint';
import type { MountedWebhook, WebhookAnswer } from '../emr-in/webhook-endpoint';
import { hubServicesOrNull } from '../emr-out/outbound';
import type { SendGridAccountNode } from '../sendgrid-account/sendgrid-account-node';
import { setStatus } from '../shared/status';

interface SendGridWebhookDef extends NodeDef {
  account: string;
  path: string;
}

/**
 * SendGrid's signed event webhook. The ECDSA signature over timestamp and
 * raw body is checked first; delivered / bounce / dropped events are then
 * applied once per event id (sent registry, message store), the batch is
 * stored, SendGrid answered 200, and the delivery updates emitted. A batch
 * whose events were all processed before is refused (409).
 */
export = function init(RED: NodeAPI): void {
  function SendGridWebhook(this: Node, def: SendGridWebhookDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as SendGridAccountNode | null;
    let mounted: MountedWebhook | undefined;
    let received = 0;

    const start = (): void => {
      if (!account) {
        node.error(RED._('sendgrid-webhook.errors.no-account'));
        setStatus(node, 'error', RED._('sendgrid-webhook.status.not-configured'));
        return;
      }
      account.register(node);
      const handler = account.events;
      if (!handler) {
        setStatus(node, 'error', RED._(account.eventsProblem === 'invalid' ? 'sendgrid-webhook.status.config-error' : 'sendgrid-webhook.status.not-configured'));
        return;
      }
      const services = hubServicesOrNull();
      if (!services) {
        node.error(RED._('sendgrid-webhook.errors.no-store'));
        setStatus(node, 'error', RED._('sendgrid-webhook.status.no-store'));
        return;
      }
      const { store } = services;
      const endpoint = def.name || account.storeName;
      mounted = mountWebhook(RED, node, services.publicRoutes, webhookPath(def.path || '/sendgrid/events'), async (req): Promise<WebhookAnswer> => {
        try {
          const outcome = await handler.handle(req.rawBody, req.headers);
          const record = await store.insert({
            flowId: node.z ?? null,
            nodeId: node.id,
            direction: 'inbound',
            endpoint,
            messageType: 'email.events',
            // Applied by the handler already: nothing is left to do with it.
            status: 'sent',
            contentType: 'application/json',
            body: req.rawBody,
          });
          received += 1;
          setStatus(node, 'connected', RED._('sendgrid-webhook.status.received', { count: received }));
          return {
            status: 200,
            body: '',
            contentType: 'text/plain',
            after: () =>
              node.send({
                _msgid: RED.util.generateId(),
                payload: outcome.updates,
                sendgrid: { received: outcome.received, duplicates: outcome.duplicates, ignored: outcome.ignored },
                hubMessageId: record.id,
                messageType: 'email.events',
              }),
          };
        } catch (err) {
          if (err instanceof WebhookRejectedError) {
            setStatus(node, 'error', RED._('sendgrid-webhook.status.rejected', { reason: err.reason }));
            return { status: err.httpStatus, body: '', contentType: 'text/plain' };
          }
          // Unapplied events were released: SendGrid's retry applies them.
          node.warn(RED._('sendgrid-webhook.errors.failed', { code: errorCode(err) }));
          setStatus(node, 'error', RED._('sendgrid-webhook.status.error', { code: errorCode(err) }));
          return { status: 503, body: '', contentType: 'text/plain' };
        }
      });
      setStatus(node, 'connected', RED._('sendgrid-webhook.status.listening'));
    };

    try {
      start();
    } catch (err) {
      node.error(RED._('sendgrid-webhook.errors.mount', { reason: err instanceof Error ? err.message : String(err) }));
      setStatus(node, 'error', RED._('sendgrid-webhook.status.config-error'));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      mounted?.close();
      mounted = undefined;
      Promise.resolve(account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('sendgrid-webhook.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('sendgrid-webhook', SendGridWebhook);
};
