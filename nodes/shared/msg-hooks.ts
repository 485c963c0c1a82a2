import type { NodeMessage } from 'node-red';

/** The messaging hooks a completion-following node reacts to, for the msgs it follows. */
export interface FollowedMsgHandlers {
  preDeliver(event: { msg: NodeMessage; destination: { id: string } }): void;
  onReceive(event: { msg: NodeMessage; destination: { id: string; node?: unknown } }): void;
  onComplete(event: { msg: NodeMessage; node: { id: string }; error?: unknown }): void;
  postReceive(event: { msg: NodeMessage; destination: { id: string; node?: unknown } }): void;
}

interface HooksApi {
  add(name: string, fn: (event: never) => void): void;
  remove(name: string): void;
}

const EVENTS = ['preDeliver', 'onReceive', 'onComplete', 'postReceive'] as const;
const LABEL = 'ivfhub_followed';

/**
 * One set of messaging hooks per runtime, shared by every node that follows
 * its msgs to completion (mllp-in's after-processing mode, queue-in).
 * Node-RED runs each hook for every msg hop in the runtime, so per-node hooks
 * would cost every hop one call per such node; here a hop costs one map
 * lookup, and only the node that follows the msg (clones keep `_msgid`) is called.
 */
export class SharedMsgHooks {
  private readonly followers = new Map<string, FollowedMsgHandlers>();
  private users = 0;

  constructor(private readonly hooks: HooksApi) {}

  /** A node starts using the hooks; returns its release (the last one removes them). Safe to call the release twice. */
  attach(): () => void {
    if (this.users++ === 0) {
      for (const event of EVENTS) {
        const name = `${event}.${LABEL}`;
        this.hooks.remove(name);
        this.hooks.add(name, ((e: { msg?: NodeMessage }) => {
          const id = e.msg?._msgid;
          if (id === undefined) return;
          this.followers.get(id)?.[event](e as never);
        }) as (event: never) => void);
      }
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.users === 0) for (const event of EVENTS) this.hooks.remove(`${event}.${LABEL}`);
    };
  }

  /** Route the hooks of msg `msgId` (and its clones) to `handlers` until unfollow. */
  follow(msgId: string, handlers: FollowedMsgHandlers): void {
    this.followers.set(msgId, handlers);
  }

  unfollow(msgId: string): void {
    this.followers.delete(msgId);
  }
}

const perRuntime = new WeakMap<object, SharedMsgHooks>();

/** The shared hooks of this runtime (`RED.hooks`). */
export function sharedMsgHooks(RED: { hooks: unknown }): SharedMsgHooks {
  const hooks = RED.hooks as HooksApi & object;
  let shared = perRuntime.get(hooks);
  if (!shared) {
    shared = new SharedMsgHooks(hooks);
    perRuntime.set(hooks, shared);
  }
  return shared;
}
