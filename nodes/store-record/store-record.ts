import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { getHubServices, metricsOf } from '../../adapters/shared/registry';
import type { MessageOutcome } from '../../adapters/shared/hub-metrics';
import { errorCode, IntegrationError } from '../../adapters/shared/errors';
import type { Direction, MessageStatus } from '../../adapters/store';
import { hubServicesOrNull } from '../emr-out/outbound';
import { followTimeoutOf } from '../shared/follow-timeout';
import { FollowedSource } from '../shared/followed-source';
import { payloadBytes, payloadOf, stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';

interface StoreRecordDef extends NodeDef {
  direction: Direction;
  endpoint: string;
  status: MessageStatus;
  contentType: string;
  /** Inbound only: store `processing` and follow the msg through the flow (see FollowedSource). */
  follow?: boolean;
  /** With `follow`: how long the flow may take (blank = 60 s). */
  processingTimeoutMs?: string | number;
}

type Msg = NodeMessage & Record<string, unknown>;

const REPROCESS_REFUSAL = 'only an inbound record this node stored can be reprocessed';

/**
 * Records msg.payload in the message store before passing the msg on, so the
 * flow can acknowledge its sender knowing the message is durable. Metadata
 * comes from msg.controlId, msg.messageType, msg.patientId, msg.sender,
 * msg.receiver (set by parser nodes) and the node's settings.
 */
const OUTCOME: Record<MessageStatus, MessageOutcome> = {
  received: 'received',
  processing: 'received',
  sent: 'sent',
  queued: 'queued',
  filtered: 'filtered',
  error: 'errored',
};

export = function init(RED: NodeAPI): void {
  function StoreRecord(this: Node, def: StoreRecordDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let stored = 0;
    // The msg a stored record stands for, as it was stored (an operator's reprocess, a recovered leftover).
    const msgOf = (record: { body?: Buffer | null; controlId: string | null; messageType: string | null }): Msg =>
      ({
        _msgid: RED.util.generateId(),
        payload: payloadOf(record.body ?? Buffer.alloc(0)),
        ...(record.controlId ? { controlId: record.controlId } : {}),
        ...(record.messageType ? { messageType: record.messageType } : {}),
      }) as Msg;

    // Followed: what arrives over a route that answers its sender once stored (an HTTP POST) is
    // stored `processing`, settles `sent`/`error` on the flow, and a crash or redeploy in between
    // sends it through the flow again at the next start, as emr in and clearinghouse in do.
    const followed = def.follow === true && def.direction !== 'outbound';
    let source: FollowedSource<Msg> | undefined;
    let configError = false;
    if (followed) {
      const services = hubServicesOrNull();
      const timeoutMs = followTimeoutOf(node, def.processingTimeoutMs, RED._('store-record.status.config-error'));
      if (timeoutMs === null) configError = true;
      else if (services) {
        source = new FollowedSource<Msg>(RED, node, {
          store: services.store,
          // Fixed (msg.endpoint is not used): recovery looks for this node's records under it.
          endpoint: endpointOf(def, node),
          reprocessors: services.reprocessors,
          timeoutMs,
          prepare: (record) => msgOf(record),
          toMsg: (hubMessageId, msg) => {
            msg.hubMessageId = hubMessageId;
            return msg as Msg & { _msgid: string };
          },
          recoverErrorKey: 'store-record.errors.recover',
          reprocessRefusal: REPROCESS_REFUSAL,
        });
      }
    }

    // An inbound record can be sent on again by an operator (REST API, monitor), as it was stored:
    // the msg after this node, with msg.hubMessageId the record's id. Nothing is stored again.
    let unregister: (() => void) | undefined;
    if (def.direction !== 'outbound' && !followed) {
      try {
        const services = getHubServices();
        unregister = services.reprocessors?.register(node.id, async (record) => {
          if (record.direction !== 'inbound') throw new IntegrationError(REPROCESS_REFUSAL, 'CONFIG', false);
          await services.store.update(record.id, { incrementAttempts: true });
          node.send({ ...msgOf(record), hubMessageId: record.id });
        });
      } catch {
        // Outside the hub (no services): nothing to reprocess from.
      }
    }

    this.on('input', (msg: Msg, send, done) => {
      let services;
      let body: Buffer;
      try {
        if (configError) throw new IntegrationError('processingTimeoutMs is invalid; nothing is stored', 'CONFIG', false);
        services = getHubServices();
        // A followed record nobody follows would stay `processing` for good: refuse it instead.
        if (followed && !source) throw new IntegrationError('hub services were not ready when this node started; nothing is stored until it is redeployed', 'CONFIG', false);
        body = payloadBytes(msg.payload);
      } catch (err) {
        done(err as Error);
        return;
      }
      setStatus(this, 'processing', RED._('store-record.status.storing'));
      const endpoint = followed ? endpointOf(def, node) : (stringProp(msg, 'endpoint') ?? endpointOf(def, node));
      const status = followed ? 'processing' : def.status || 'received';
      services.store
        .insert({
          flowId: this.z ?? null,
          nodeId: this.id,
          direction: def.direction === 'outbound' ? 'outbound' : 'inbound',
          endpoint,
          controlId: stringProp(msg, 'controlId') ?? null,
          messageType: stringProp(msg, 'messageType') ?? null,
          sender: stringProp(msg, 'sender') ?? null,
          receiver: stringProp(msg, 'receiver') ?? null,
          patientId: stringProp(msg, 'patientId') ?? null,
          parentId: stringProp(msg, 'hubMessageId') ?? null,
          status,
          contentType: def.contentType || 'application/octet-stream',
          body,
        })
        .then(
          (record) => {
            stored += 1;
            msg.hubMessageId = record.id;
            metricsOf(services).message(endpoint, OUTCOME[status], record.messageType);
            setStatus(this, 'connected', RED._('store-record.status.stored', { count: stored }));
            if (source) {
              // Its own _msgid: this node's done() for the incoming msg must not count as the flow finishing it.
              source.send(record.id, { ...msg, _msgid: RED.util.generateId() });
            } else {
              send(msg);
            }
            done();
          },
          (err: unknown) => {
            setStatus(this, 'error', RED._('store-record.status.error', { code: errorCode(err) }));
            done(err as Error);
          },
        );
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      unregister?.();
      const closing = source;
      source = undefined;
      Promise.resolve(closing?.close())
        .catch((err: unknown) => node.warn(RED._('store-record.errors.close', { code: errorCode(err) })))
        .finally(() => {
          setStatus(this, 'idle');
          done();
        });
    });
  }
  RED.nodes.registerType('store-record', StoreRecord);
};

function endpointOf(def: StoreRecordDef, node: Node): string {
  return def.endpoint || node.name || node.id;
}
