import type { NodeMessage } from 'node-red';
import { CompletionTracker, isLegacyNode } from './completion-tracker';
import type { TrackedOutcome } from './completion-tracker';
import { sharedMsgHooks } from './msg-hooks';
import type { FollowedMsgHandlers } from './msg-hooks';

/**
 * Sends msgs and reports when the flow has finished with each (see
 * CompletionTracker), for a source node whose stored records settle on
 * that (FollowedInbound). One per node; `close` at the node's close.
 */
export class MsgFollower {
  private readonly tracker = new CompletionTracker();
  private readonly hooks;
  private readonly detach: () => void;
  private readonly handlers: FollowedMsgHandlers;

  constructor(RED: { hooks: unknown }) {
    this.hooks = sharedMsgHooks(RED);
    this.detach = this.hooks.attach();
    const tracker = this.tracker;
    this.handlers = {
      preDeliver: (event) => tracker.delivered(event.msg._msgid, event.destination.id),
      onReceive: (event) => tracker.received(event.msg._msgid, event.destination.id),
      onComplete: (event) => tracker.completed(event.msg._msgid, event.node.id, event.error),
      postReceive: (event) => {
        if (tracker.has(event.msg._msgid) && isLegacyNode(event.destination.node)) {
          tracker.settleLegacy(event.msg._msgid, event.destination.id, (fn) => setImmediate(fn));
        }
      },
    };
  }

  /**
   * Sends `msg` with `send` (e.g. `node.send`, or to one output of several)
   * and calls `onDone` once, when every copy has completed or a node failed it.
   * A `send` that throws is a failure.
   * @returns stops following (onDone is then never called)
   */
  send(msg: NodeMessage & { _msgid: string }, send: (msg: NodeMessage) => void, onDone: (outcome: TrackedOutcome) => void): () => void {
    const id = msg._msgid;
    const forget = (): void => {
      this.tracker.forget(id);
      this.hooks.unfollow(id);
    };
    this.tracker.track(id, (outcome) => {
      this.hooks.unfollow(id);
      onDone(outcome);
    });
    this.hooks.follow(id, this.handlers);
    try {
      send(msg);
    } catch (err) {
      forget();
      onDone({ error: err });
      return forget;
    }
    this.tracker.sent(id);
    return forget;
  }

  /** Msgs being followed. */
  get size(): number {
    return this.tracker.size;
  }

  close(): void {
    this.detach();
  }
}
