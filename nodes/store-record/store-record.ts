import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { getHubServices, metricsOf } from '../../adapters/shared/registry';
import type { MessageOutcome } from '../../adapters/shared/hub-metrics';
import { errorCode, IntegrationError } from '../../adapters/shared/errors';
import type { Direction, MessageStatus } from '../../adapters/store';
import { payloadBytes, payloadOf, stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';

interface StoreRecordDef extends NodeDef {
  direction: Direction;
  endpoint: string;
  status: MessageStatus;
  contentType: string;
}

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
    // An inbound record can be sent on again by an operator (REST API, monitor), as it was stored:
    // the msg after this node, with msg.hubMessageId the record's id. Nothing is stored again.
    let unregister: (() => void) | undefined;
    if (def.direction !== 'outbound') {
      try {
        const services = getHubServices();
        unregister = services.reprocessors?.register(node.id, async (record) => {
          if (record.direction !== 'inbound') throw new IntegrationError('only an inbound record this node stored can be reprocessed', 'CONFIG', false);
          await services.store.update(record.id, { incrementAttempts: true });
          node.send({
            _msgid: RED.util.generateId(),
            payload: payloadOf(record.body),
            hubMessageId: record.id,
            ...(record.controlId ? { controlId: record.controlId } : {}),
            ...(record.messageType ? { messageType: record.messageType } : {}),
          } as NodeMessage);
        });
      } catch {
        // Outside the hub (no services): nothing to reprocess from.
      }
    }

    this.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      let services;
      let body: Buffer;
      try {
        services = getHubServices();
        body = payloadBytes(msg.payload);
      } catch (err) {
        done(err as Error);
        return;
      }
      setStatus(this, 'processing', RED._('store-record.status.storing'));
      const endpoint = stringProp(msg, 'endpoint') ?? (def.endpoint || this.name || this.id);
      const status = def.status || 'received';
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
            send(msg);
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
      setStatus(this, 'idle');
      done();
    });
  }
  RED.nodes.registerType('store-record', StoreRecord);
};
