import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import { isRetryable } from '../../adapters/queue';
import type { MessageQueue, QueuePolicyInput } from '../../adapters/queue';
import { stringProp } from '../shared/msg-fields';
import { encodePayload } from '../shared/queue-payload';
import { setStatus } from '../shared/status';

interface QueueOutDef extends NodeDef {
  queue: string;
  /** msg property holding the ordering key (e.g. `patientKey`); empty for none. */
  keyProperty: string;
  /** JSON policy overrides for this queue; empty for the configured policy. */
  policy: string;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Puts msg.payload on a durable hub queue and passes the msg on with
 * `msg.queued = { queue, id }` once the enqueue is durable, so nothing
 * acknowledged upstream can be lost. The id is msg.hubMessageId when there
 * is one: the store's record id doubles as the idempotency key downstream.
 */
export = function init(RED: NodeAPI): void {
  function QueueOut(this: Node, def: QueueOutDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const name = (def.queue ?? '').trim();

    let queue: MessageQueue;
    let overrides: QueuePolicyInput | undefined;
    let releaseName: () => void = () => undefined;
    try {
      const services = getHubServices();
      if (!services.queue) throw new Error('no queue');
      queue = services.queue;
      overrides = def.policy && def.policy.trim() !== '' ? (JSON.parse(def.policy) as QueuePolicyInput) : undefined;
      if (overrides !== undefined && (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))) throw new Error('policy');
      if (services.queueDirectory) releaseName = services.queueDirectory.register(name);
    } catch (err) {
      node.error(RED._('queue-out.errors.config', { code: errorCode(err) === 'UNKNOWN' ? 'CONFIG' : errorCode(err) }));
      setStatus(node, 'error', RED._('queue-out.status.error', { code: 'CONFIG' }));
      return;
    }

    // Declared once per deploy; inputs wait for it, so the first enqueue already uses the overrides.
    const declared = queue.declareQueue(name, overrides);
    declared.then(
      () => setStatus(node, 'connected', RED._('queue-out.status.ready', { queue: name })),
      (err: unknown) => {
        node.error(RED._('queue-out.errors.declare', { queue: name, code: errorCode(err) }));
        setStatus(node, 'error', RED._('queue-out.status.error', { code: errorCode(err) }));
      },
    );
    let queued = 0;

    node.on('input', (msg: Msg, send, done) => {
      let input;
      try {
        const encoded = encodePayload(msg);
        const rawKey = def.keyProperty ? (RED.util.getMessageProperty(msg, def.keyProperty) as unknown) : undefined;
        const key = typeof rawKey === 'string' && rawKey !== '' ? rawKey : typeof rawKey === 'number' ? String(rawKey) : null;
        input = { ...encoded, key, ...(stringProp(msg, 'hubMessageId') ? { id: stringProp(msg, 'hubMessageId') } : {}) };
      } catch (err) {
        msg.retryable = false;
        setStatus(node, 'error', RED._('queue-out.status.error', { code: errorCode(err) }));
        done(err as Error);
        return;
      }
      declared
        .then(() => queue.enqueue(name, input))
        .then(
          (receipt) => {
            queued += 1;
            msg.queued = { queue: receipt.queue, id: receipt.id };
            delete msg.retryable;
            setStatus(node, 'connected', RED._('queue-out.status.queued', { queue: name, count: queued }));
            send(msg);
            done();
          },
          (err: unknown) => {
            msg.retryable = isRetryable(err);
            setStatus(node, 'error', RED._('queue-out.status.error', { code: errorCode(err) }));
            done(err as Error);
          },
        );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      releaseName();
      setStatus(node, 'idle');
      done();
    });
  }
  RED.nodes.registerType('queue-out', QueueOut);
};
