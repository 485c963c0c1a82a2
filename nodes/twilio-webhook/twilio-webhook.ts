import type { Node, NodeAPI, NodeDef } from 'node-red';
import { WebhookRejectedError } from '../../adapters/phi-guard';
import { errorCode, IntegrationError } from '../../adapters/shared/errors';
import type { MessageStore } from '../../adapters/store';
import { inboundMessageOf, parseForm } from '../../adapters/twilio';
import type { InboundMessage, TwilioCallbackHandler } from '../../adapters/twilio';
import { mountWebhook, webhookPath } from '../emr-in/webhook-endpoint';
import type { MountedWebhook, WebhookAnswer, WebhookRequest } from '../emr-in/webhook-endpoint';
import { hubServicesOrNull } from '../emr-out/outbound';
import { FollowedSource } from '../shared/followed-source';
import { followTimeoutOf } from '../shared/follow-timeout';
import { setStatus } from '../shared/status';
import type { TwilioAccountNode } from '../twilio-account/twilio-account-node';

interface TwilioWebhookDef extends NodeDef {
  account: string;
  inboundPath: string;
  /** How long the flow may take with an inbound message (ms); blank for the default (see followTimeoutMs). */
  processingTimeoutMs?: string | number;
}

const FORM = 'application/x-www-form-urlencoded';
const INBOUND_TYPE = 'SMS';

/**
 * Twilio's two callbacks for an account: message status callbacks
 * (delivery receipts, on the account's status path) and inbound messages
 * (STOP/START/HELP and replies, on this node's inbound path). Every request
 * is checked against `X-Twilio-Signature` for the public URL Twilio called
 * before anything is believed; replays are refused. Accepted callbacks are
 * applied (sent registry, opt-outs, message store), stored, answered, and
 * then emitted: status on output 1, inbound on output 2.
 *
 * An inbound message's record stays `processing` until the flow has
 * finished with it (`sent`, or `error`); one a previous run left
 * `processing` (a crash after Twilio was answered) goes through the flow
 * again once the flows have started, and an operator can reprocess one.
 */
export = function init(RED: NodeAPI): void {
  function TwilioWebhook(this: Node, def: TwilioWebhookDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as TwilioAccountNode | null;
    const mounted: MountedWebhook[] = [];
    let source: FollowedSource<InboundMessage> | undefined;
    let received = 0;

    const start = (): void => {
      if (!account) {
        node.error(RED._('twilio-webhook.errors.no-account'));
        setStatus(node, 'error', RED._('twilio-webhook.status.not-configured'));
        return;
      }
      account.register(node);
      const handler = account.callbacks;
      if (!handler || account.callbacksProblem) {
        setStatus(node, 'error', RED._(account.callbacksProblem === 'invalid' ? 'twilio-webhook.status.config-error' : 'twilio-webhook.status.not-configured'));
        return;
      }
      const services = hubServicesOrNull();
      if (!services) {
        node.error(RED._('twilio-webhook.errors.no-store'));
        setStatus(node, 'error', RED._('twilio-webhook.status.no-store'));
        return;
      }
      const endpoint = def.name || account.storeName;
      const timeoutMs = followTimeoutOf(node, def.processingTimeoutMs, RED._('twilio-webhook.status.config-error'));
      if (timeoutMs === null) return;
      const followed = new FollowedSource<InboundMessage>(RED, node, {
        store: services.store,
        timeoutMs,
        endpoint,
        reprocessors: services.reprocessors,
        prepare: (record) => {
          // Status callbacks were applied when they came; only a message from a patient goes through the flow again.
          if (record.messageType !== INBOUND_TYPE) throw new IntegrationError('only an inbound message can be reprocessed', 'CONFIG', false);
          return inboundMessageOf(parseForm(record.body.toString('utf8')));
        },
        toMsg: (hubMessageId, { messageSid, action, from, body }) => ({ _msgid: RED.util.generateId(), payload: body, sms: { messageSid, action, from }, hubMessageId, controlId: messageSid, messageType: INBOUND_TYPE }),
        send: (msg) => node.send([null, msg]),
        recoverErrorKey: 'twilio-webhook.errors.recover',
        reprocessRefusal: 'only a message this node received can be reprocessed',
      });
      source = followed;
      const publicUrl = (req: WebhookRequest): string => `${account.publicBaseUrl}${req.url}`;
      const statusRoute = mountWebhook(RED, node, services.publicRoutes, account.statusPath, (req) => onStatus(handler, services.store, endpoint, publicUrl(req), req));
      mounted.push(statusRoute);
      mounted.push(mountWebhook(RED, node, services.publicRoutes, webhookPath(def.inboundPath || '/twilio/inbound'), (req) => onInbound(handler, services.store, followed, endpoint, publicUrl(req), req)));
      setStatus(node, 'connected', RED._('twilio-webhook.status.listening'));
    };

    const rejected = (err: unknown): WebhookAnswer => {
      if (err instanceof WebhookRejectedError) {
        setStatus(node, 'error', RED._('twilio-webhook.status.rejected', { reason: err.reason }));
        return { status: err.httpStatus, body: '', contentType: 'text/plain' };
      }
      node.warn(RED._('twilio-webhook.errors.failed', { code: errorCode(err) }));
      setStatus(node, 'error', RED._('twilio-webhook.status.error', { code: errorCode(err) }));
      return { status: 503, body: '', contentType: 'text/plain' };
    };

    const onStatus = async (handler: TwilioCallbackHandler, store: MessageStore, endpoint: string, url: string, req: WebhookRequest): Promise<WebhookAnswer> => {
      try {
        const outcome = await handler.handleStatusCallback(req.rawBody, req.headers, url);
        const record = await store.insert({
          flowId: node.z ?? null,
          nodeId: node.id,
          direction: 'inbound',
          endpoint,
          controlId: outcome.messageSid,
          messageType: 'sms.status',
          parentId: outcome.hubMessageId,
          // Applied by the handler already: nothing is left to do with it.
          status: 'sent',
          contentType: FORM,
          body: req.rawBody,
        });
        received += 1;
        setStatus(node, 'connected', RED._('twilio-webhook.status.received', { count: received }));
        return {
          status: 200,
          body: '',
          contentType: 'text/plain',
          after: () => node.send([{ _msgid: RED.util.generateId(), payload: outcome, smsStatus: outcome, hubMessageId: record.id, controlId: outcome.messageSid, messageType: 'sms.status' }, null]),
        };
      } catch (err) {
        return rejected(err);
      }
    };

    const onInbound = async (handler: TwilioCallbackHandler, store: MessageStore, followed: FollowedSource<InboundMessage>, endpoint: string, url: string, req: WebhookRequest): Promise<WebhookAnswer> => {
      try {
        const outcome = await handler.handleInboundMessage(req.rawBody, req.headers, url);
        const record = await store.insert({
          flowId: node.z ?? null,
          nodeId: node.id,
          direction: 'inbound',
          endpoint,
          controlId: outcome.messageSid,
          messageType: INBOUND_TYPE,
          status: 'processing',
          contentType: FORM,
          body: req.rawBody,
        });
        received += 1;
        setStatus(node, 'connected', RED._('twilio-webhook.status.received', { count: received }));
        return {
          status: 200,
          body: outcome.twiml,
          contentType: 'text/xml',
          after: () => followed.send(record.id, { messageSid: outcome.messageSid, action: outcome.action, from: outcome.from, body: outcome.body }),
        };
      } catch (err) {
        return rejected(err);
      }
    };

    try {
      start();
    } catch (err) {
      for (const m of mounted.splice(0)) m.close();
      node.error(RED._('twilio-webhook.errors.mount', { reason: err instanceof Error ? err.message : String(err) }));
      setStatus(node, 'error', RED._('twilio-webhook.status.config-error'));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      for (const m of mounted.splice(0)) m.close();
      const closing = source;
      source = undefined;
      Promise.resolve(closing?.close())
        .then(() => account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('twilio-webhook.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('twilio-webhook', TwilioWebhook);
};
