import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { IntakeDelivery } from '../../adapters/hl7-intake';
import type { Hl7AckHandle, MllpListenerNode } from '../mllp-listener/types';
import { sharedMsgHooks } from '../shared/msg-hooks';
import type { FollowedMsgHandlers } from '../shared/msg-hooks';
import { setStatus } from '../shared/status';
import { CompletionTracker, isLegacyNode } from './completion-tracker';

interface MllpInDef extends NodeDef {
  listener: string;
}

/**
 * Emits every HL7 v2 message its mllp-listener accepts. The listener has
 * already stored it (msg.hubMessageId) and, in after-commit mode, answered AA.
 *
 * Completion is followed through Node-RED's messaging hooks (see
 * CompletionTracker): when every copy of the msg has been completed the
 * stored status becomes `sent` (or `error`), and in after-processing mode
 * that is also when the sender gets AA (AE on a node error or the timeout).
 */
export = function init(RED: NodeAPI): void {
  function MllpIn(this: Node, def: MllpInDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const listener = RED.nodes.getNode(def.listener) as MllpListenerNode | null;
    if (!listener || typeof listener.register !== 'function') {
      node.error(RED._('mllp-in.errors.no-listener'));
      setStatus(node, 'error', RED._('mllp-in.status.error', { code: 'CONFIG' }));
      return;
    }

    const tracker = new CompletionTracker();
    const hooks = sharedMsgHooks(RED);
    const detach = hooks.attach();
    // Called only for the msgs this node follows (see SharedMsgHooks).
    const handlers: FollowedMsgHandlers = {
      preDeliver: (event) => tracker.delivered(event.msg._msgid, event.destination.id),
      onReceive: (event) => tracker.received(event.msg._msgid, event.destination.id),
      onComplete: (event) => tracker.completed(event.msg._msgid, event.node.id, event.error),
      postReceive: (event) => {
        if (tracker.has(event.msg._msgid) && isLegacyNode(event.destination.node)) {
          tracker.settleLegacy(event.msg._msgid, event.destination.id, (fn) => setImmediate(fn));
        }
      },
    };
    const forget = (msgId: string): void => {
      tracker.forget(msgId);
      hooks.unfollow(msgId);
    };

    listener.register(node, (delivery: IntakeDelivery) => {
      const msgId = RED.util.generateId();
      const msg: NodeMessage & Record<string, unknown> = {
        _msgid: msgId,
        payload: delivery.raw,
        hl7: delivery.message,
        hubMessageId: delivery.id,
        controlId: delivery.info.controlId,
        messageType: delivery.info.messageType,
        sender: delivery.info.sender,
        receiver: delivery.info.receiver,
        peer: { address: delivery.connection.remoteAddress, port: delivery.connection.remotePort },
        _hl7ack: { listener: listener.id, id: delivery.id } satisfies Hl7AckHandle,
      };
      if (delivery.batch) msg.batch = delivery.batch;
      tracker.track(msgId, (outcome) => delivery.complete(outcome));
      hooks.follow(msgId, handlers);
      void delivery.settled.then(() => forget(msgId));
      try {
        node.send(msg);
      } catch (err) {
        // The intake records a consumer that throws as a failed completion.
        forget(msgId);
        throw err;
      }
      tracker.sent(msgId);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      detach();
      listener
        .deregister(node)
        .catch((err: unknown) => node.warn(RED._('mllp-in.errors.close', { name: (err as Error)?.name ?? 'Error' })))
        .finally(done);
    });
  }
  RED.nodes.registerType('mllp-in', MllpIn);
};
