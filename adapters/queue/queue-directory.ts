import { checkQueueName } from './message-input';

/**
 * The queue names this hub process works with: those named in configuration
 * (`HUB_QUEUE_POLICIES`) plus those declared by the running flows' queue
 * nodes. The REST API and the monitor serve only these, so a caller cannot
 * make the hub create broker objects by asking about an arbitrary name.
 *
 * Flow registrations are counted: a redeploy closes the old node (release)
 * and starts the new one (register), and a queue used by two nodes stays
 * known until both are gone.
 */
export class QueueDirectory {
  private readonly configured: ReadonlySet<string>;
  private readonly inFlows = new Map<string, number>();
  private readonly holds = new Map<string, { missing: string[] }[]>();

  /** @param configured - queue names from configuration, always listed */
  constructor(configured: Iterable<string> = []) {
    const names = [...configured];
    for (const name of names) checkQueueName(name);
    this.configured = new Set(names);
  }

  /**
   * A running node uses `queue`. Returns the matching release, which is safe
   * to call more than once.
   * @param queue - queue name
   */
  register(queue: string): () => void {
    checkQueueName(queue);
    this.inFlows.set(queue, (this.inFlows.get(queue) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.inFlows.get(queue) ?? 1) - 1;
      if (n <= 0) this.inFlows.delete(queue);
      else this.inFlows.set(queue, n);
    };
  }

  /**
   * The queue's consumer waits for configuration (its destination's settings
   * are not set): messages stay queued, and the monitor says why. Returns the
   * release, safe to call more than once.
   * @param queue - queue name
   * @param missing - what is missing: setting names only, never values
   */
  hold(queue: string, missing: readonly string[]): () => void {
    checkQueueName(queue);
    const entry = { missing: [...missing] };
    const list = this.holds.get(queue) ?? [];
    list.push(entry);
    this.holds.set(queue, list);
    return () => {
      const now = (this.holds.get(queue) ?? []).filter((e) => e !== entry);
      if (now.length > 0) this.holds.set(queue, now);
      else this.holds.delete(queue);
    };
  }

  /** @param queue - queue name @returns the settings its consumers wait for, or null when none waits */
  waitingFor(queue: string): string[] | null {
    const list = this.holds.get(queue);
    return list ? [...new Set(list.flatMap((e) => e.missing))].sort() : null;
  }

  /** @param queue - queue name @returns whether the hub knows it */
  has(queue: string): boolean {
    return this.configured.has(queue) || this.inFlows.has(queue);
  }

  /** Every known queue name, sorted. */
  names(): string[] {
    return [...new Set([...this.configured, ...this.inFlows.keys()])].sort();
  }
}
