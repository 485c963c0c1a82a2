import type { Node, NodeAPI, NodeDef } from 'node-red';
import { parseEmrEvent } from '../../adapters/emr';
import type { EmrEvent } from '../../adapters/emr';
import { errorCode } from '../../adapters/shared/errors';
import type { MessageRecord } from '../../adapters/store';
import type { EmrServerNode } from '../emr-server/emr-server-node';
import { hubServicesOrNull } from '../emr-out/outbound';
import { FollowedSource } from '../shared/followed-source';
import { followTimeoutOf } from '../shared/follow-timeout';
import { setStatus } from '../shared/status';
import { mountWebhook, webhookPath } from './webhook-endpoint';
import type { MountedWebhook } from './webhook-endpoint';

interface EmrInDef extends NodeDef {
  server: string;
  path: string;
  /** How long the flow may take with an event (ms); blank for the default (see followTimeoutMs). */
  processingTimeoutMs?: string | number;
}

/**
 * Receives the EMR core's signed events (appointment booked/changed,
 * invoice issued, charge posted) on its own route. Each request is
 * authenticated (HMAC with timestamp and replay window, or token) before
 * anything else; the event is stored, the EMR answered 202 only after the
 * store commit, and only then is the msg emitted. A repeat of an event id
 * already stored (the EMR retrying after a lost answer) is answered 202 and
 * not emitted again.
 *
 * The record stays `processing` until the flow has finished with the msg
 * (`sent`, or `error` on a node error or timeout). One still `processing`
 * after a crash or redeploy goes through the flow again once the flows have
 * started: the EMR was answered 202 and will not resend it.
 */
export = function init(RED: NodeAPI): void {
  function EmrIn(this: Node, def: EmrInDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const server = RED.nodes.getNode(def.server) as EmrServerNode | null;
    let mounted: MountedWebhook | undefined;
    let source: FollowedSource<EmrEvent> | undefined;
    let received = 0;

    const start = (): void => {
      if (!server) {
        node.error(RED._('emr-in.errors.no-server'));
        setStatus(node, 'error', RED._('emr-in.status.not-configured'));
        return;
      }
      server.register(node);
      const receiver = server.receiver;
      if (!receiver) {
        setStatus(node, 'error', RED._(server.receiverProblem === 'invalid' ? 'emr-in.status.config-error' : 'emr-in.status.not-configured'));
        return;
      }
      const services = hubServicesOrNull();
      if (!services) {
        node.error(RED._('emr-in.errors.no-store'));
        setStatus(node, 'error', RED._('emr-in.status.no-store'));
        return;
      }
      const { store } = services;
      const endpoint = def.name || 'emr-in';
      const timeoutMs = followTimeoutOf(node, def.processingTimeoutMs, RED._('emr-in.status.config-error'));
      if (timeoutMs === null) return;
      const followed = new FollowedSource<EmrEvent>(RED, node, {
        store,
        timeoutMs,
        endpoint,
        reprocessors: services.reprocessors,
        prepare: (record) => parseEmrEvent(record.body),
        toMsg: (hubMessageId, event) => ({
          _msgid: RED.util.generateId(),
          payload: event,
          emrEvent: event,
          hubMessageId,
          controlId: event.id,
          messageType: event.type,
          patientId: patientIdOf(event),
        }),
        recoverErrorKey: 'emr-in.errors.recover',
        reprocessRefusal: 'only an event this node received can be reprocessed',
      });
      source = followed;
      const path = webhookPath(def.path || '/emr/events');
      mounted = mountWebhook(RED, node, services.publicRoutes, path, async (req) => {
        let record: MessageRecord | undefined;
        let duplicate = false;
        const result = await receiver.receive({ rawBody: req.rawBody, headers: req.headers }, async (event, rawBody) => {
          const earlier = (await store.search({ controlId: event.id, endpoint, direction: 'inbound', limit: 10 })).items.find((r) => r.messageType === event.type);
          if (earlier) {
            duplicate = true;
            record = earlier;
            return;
          }
          record = await store.insert({
            flowId: node.z ?? null,
            nodeId: node.id,
            direction: 'inbound',
            endpoint,
            controlId: event.id,
            messageType: event.type,
            sender: server.storeName,
            patientId: patientIdOf(event),
            status: 'processing',
            contentType: 'application/json',
            body: rawBody,
          });
        });
        const event = result.event;
        if (!event || !record) {
          setStatus(node, 'error', RED._('emr-in.status.rejected', { reason: result.body.error ?? String(result.status) }));
          return { status: result.status, body: result.body };
        }
        if (duplicate) return { status: result.status, body: result.body };
        const stored = record;
        received += 1;
        setStatus(node, 'connected', RED._('emr-in.status.received', { count: received }));
        return {
          status: result.status,
          body: result.body,
          after: () => followed.send(stored.id, event),
        };
      });
      setStatus(node, 'connected', RED._('emr-in.status.listening'));
    };

    try {
      start();
    } catch (err) {
      // A bad or taken path: shown, logged by code, never a crash of the flows.
      node.error(RED._('emr-in.errors.mount', { reason: err instanceof Error ? err.message : String(err) }));
      setStatus(node, 'error', RED._('emr-in.status.config-error'));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      mounted?.close();
      mounted = undefined;
      const closing = source;
      source = undefined;
      Promise.resolve(closing?.close())
        .then(() => server?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('emr-in.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('emr-in', EmrIn);
};

function patientIdOf(event: EmrEvent): string {
  switch (event.type) {
    case 'appointment.booked':
    case 'appointment.changed':
      return event.appointment.patientId;
    case 'invoice.issued':
      return event.invoice.patientId;
    case 'charge.posted':
      return event.charge.patientId;
    case 'order.placed':
    case 'order.changed':
      return event.order.patientId;
  }
}
