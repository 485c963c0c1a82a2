/** What a tracked message ended with. */
export interface TrackedOutcome {
  error?: unknown;
  /** The node that reported the error. */
  nodeId?: string;
}

interface Entry {
  /** Deliveries routed and not yet completed, plus direct receives not yet completed. */
  pending: number;
  /** Routed deliveries per destination node that have not reached its input yet. */
  inFlight: Map<string, number>;
  /** True while the source node is still inside node.send(). */
  sending: boolean;
  onDone: (outcome: TrackedOutcome) => void;
}

/**
 * Follows one msg (by `_msgid`) through a flow using Node-RED's messaging
 * hooks, to tell when the flow has finished with it:
 *
 * - `preDeliver`: a copy is routed to a node. Counted at once, while the
 *   sender is still inside `send()`, so the count cannot touch zero between
 *   a node's `send()` and its `done()` (delivery itself is asynchronous).
 * - `onReceive`: a node gets the msg. Matched against a routed copy; a
 *   receive nobody routed (link in, catch, complete nodes call `receive()`
 *   directly) adds one of its own.
 * - `onComplete`: a node called `done()`. One copy fewer; with an error the
 *   whole msg has failed.
 *
 * - `postReceive` of a node that cannot call `done()` (see {@link isLegacyNode}):
 *   its copy is counted complete one event-loop turn after its input handler
 *   returned (see `settleLegacy`).
 *
 * The msg is finished when no copy is pending. Limits, by construction: a
 * done()-aware node that never calls `done()` leaves the msg pending until the
 * intake's timeout; a node that calls `done()` before it sends (or sends a new
 * msg with a fresh `_msgid`) ends tracking early.
 */
export class CompletionTracker {
  private readonly entries = new Map<string, Entry>();

  /** Messages being followed. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Start following a msg; call before `node.send(msg)`.
   * @param msgId - the msg's `_msgid`
   * @param onDone - called once, when the flow is done with it or a node failed it
   */
  track(msgId: string, onDone: (outcome: TrackedOutcome) => void): void {
    this.entries.set(msgId, { pending: 0, inFlight: new Map(), sending: true, onDone });
  }

  /**
   * The source node's `send()` returned. Nothing routed means nothing will
   * ever complete it (no wires), so it is finished now.
   * @param msgId - the msg's `_msgid`
   */
  sent(msgId: string): void {
    const entry = this.entries.get(msgId);
    if (!entry) return;
    entry.sending = false;
    if (entry.pending <= 0) this.finish(msgId, entry, {});
  }

  /** @param msgId - `_msgid` of a routed copy @param destinationId - the node it is routed to */
  delivered(msgId: string | undefined, destinationId: string): void {
    const entry = msgId === undefined ? undefined : this.entries.get(msgId);
    if (!entry) return;
    entry.pending++;
    entry.inFlight.set(destinationId, (entry.inFlight.get(destinationId) ?? 0) + 1);
  }

  /** @param msgId - `_msgid` of the received msg @param nodeId - the receiving node */
  received(msgId: string | undefined, nodeId: string): void {
    const entry = msgId === undefined ? undefined : this.entries.get(msgId);
    if (!entry) return;
    const routed = entry.inFlight.get(nodeId) ?? 0;
    if (routed > 1) entry.inFlight.set(nodeId, routed - 1);
    else if (routed === 1) entry.inFlight.delete(nodeId);
    else entry.pending++;
  }

  /**
   * @param msgId - `_msgid` of the completed msg
   * @param nodeId - the node that called done()
   * @param error - what it passed to done(), if anything
   */
  completed(msgId: string | undefined, nodeId: string, error?: unknown): void {
    const id = msgId;
    const entry = id === undefined ? undefined : this.entries.get(id);
    if (!entry || id === undefined) return;
    if (error !== undefined && error !== null) {
      this.finish(id, entry, { error, nodeId });
      return;
    }
    entry.pending--;
    if (entry.pending <= 0 && !entry.sending) this.finish(id, entry, {});
  }

  /** @param msgId - a `_msgid` @returns whether that msg is being followed */
  has(msgId: string | undefined): boolean {
    return msgId !== undefined && this.entries.has(msgId);
  }

  /**
   * A node without done() support finished its input handler for this msg.
   * Node-RED 4.1's switch and filter (rbe) nodes are such nodes. Whatever
   * they forward synchronously is already counted; the switch node also
   * defers a msg that arrives while it is busy with another one to the next
   * event-loop turn. Completing one turn later (`defer`, setImmediate in the
   * runtime) lets that forward be counted too. A node that holds a msg for
   * longer (a switch with a backlog of several msgs or JSONata rules) may be
   * counted complete before it forwards it; its downstream is then not followed.
   *
   * @param msgId - `_msgid` of the received msg
   * @param nodeId - the node whose handler returned
   * @param defer - runs the completion later
   */
  settleLegacy(msgId: string | undefined, nodeId: string, defer: (fn: () => void) => void): void {
    if (!this.has(msgId)) return;
    defer(() => this.completed(msgId, nodeId));
  }

  /** Stop following a msg (its intake entry settled another way, e.g. a timeout). */
  forget(msgId: string): void {
    this.entries.delete(msgId);
  }

  private finish(msgId: string, entry: Entry, outcome: TrackedOutcome): void {
    this.entries.delete(msgId);
    entry.onDone(outcome);
  }
}

/**
 * True for a node whose input handlers all omit `done` (legacy `(msg)` or
 * `(msg, send)` handlers) or that has no input handler: Node-RED never
 * reports completion for those. Reads the runtime's `_expectedDoneCount`
 * (Node-RED 4.1, pinned in package.json); anything unexpected counts as
 * done()-aware, the cautious side (its msgs wait for done or the timeout).
 *
 * @param node - the receiving node from a hook event
 */
export function isLegacyNode(node: unknown): boolean {
  if (!node || typeof node !== 'object') return false;
  return (node as { _expectedDoneCount?: unknown })._expectedDoneCount === 0;
}
