import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { IntakeDelivery } from '../../adapters/hl7-intake';
import type { Hl7AckHandle, MllpListenerNode } from '../mllp-listener/types';
import { MsgFollower } from '../shared/msg-follower';
import { setStatus } from '../shared/status';

interface MllpInDef extends NodeDef {
  listener: string;
}

/**
 * Emits every HL7 v2 message its mllp-listener accepts. The listener has
 * already stored it (msg.hubMessageId) and, in after-commit mode, answered AA.
 *
 * Completion is followed through Node-RED's messaging hooks (see MsgFollower
 * and CompletionTracker): when every copy of the msg has been completed the
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

    const follower = new MsgFollower(RED);

    listener.register(node, (delivery: IntakeDelivery) => {
      const msgId = RED.util.generateId();
      const msg: NodeMessage & Record<string, unknown> & { _msgid: string } = {
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
      // A send that throws completes the delivery with that error: the intake records it as failed.
      const forget = follower.send(msg, (m) => node.send(m), (outcome) => delivery.complete(outcome));
      // Settled another way (timeout, close): stop following it.
      void delivery.settled.then(forget);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      follower.close();
      listener
        .deregister(node)
        .catch((err: unknown) => node.warn(RED._('mllp-in.errors.close', { name: (err as Error)?.name ?? 'Error' })))
        .finally(done);
    });
  }
  RED.nodes.registerType('mllp-in', MllpIn);
};
