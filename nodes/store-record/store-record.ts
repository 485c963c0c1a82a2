import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { getHubServices } from '../../adapters/shared/registry';
import { errorCode } from '../../adapters/shared/errors';
import type { Direction, MessageStatus } from '../../adapters/store';
import { payloadBytes, stringProp } from '../shared/msg-fields';
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
export = function init(RED: NodeAPI): void {
  function StoreRecord(this: Node, def: StoreRecordDef): void {
    RED.nodes.createNode(this, def);
    let stored = 0;

    this.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      let store;
      let body: Buffer;
      try {
        store = getHubServices().store;
        body = payloadBytes(msg.payload);
      } catch (err) {
        done(err as Error);
        return;
      }
      setStatus(this, 'processing', RED._('store-record.status.storing'));
      store
        .insert({
          flowId: this.z ?? null,
          nodeId: this.id,
          direction: def.direction === 'outbound' ? 'outbound' : 'inbound',
          endpoint: stringProp(msg, 'endpoint') ?? (def.endpoint || this.name || this.id),
          controlId: stringProp(msg, 'controlId') ?? null,
          messageType: stringProp(msg, 'messageType') ?? null,
          sender: stringProp(msg, 'sender') ?? null,
          receiver: stringProp(msg, 'receiver') ?? null,
          patientId: stringProp(msg, 'patientId') ?? null,
          parentId: stringProp(msg, 'hubMessageId') ?? null,
          status: def.status || 'received',
          contentType: def.contentType || 'application/octet-stream',
          body,
        })
        .then(
          (record) => {
            stored += 1;
            msg.hubMessageId = record.id;
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
      setStatus(this, 'idle');
      done();
    });
  }
  RED.nodes.registerType('store-record', StoreRecord);
};
