import { checkQueueName } from './message-input';
import { DEFAULT_POLICY, resolvePolicy } from './policy';
import type { QueuePolicy, QueuePolicyInput } from './policy';

/**
 * Policies by queue name: configured ones, runtime declarations on top, and
 * a default for the rest. Resolved (and validated) once per queue.
 */
export class PolicyRegistry {
  private readonly base: QueuePolicy;
  private readonly resolved = new Map<string, QueuePolicy>();

  constructor(
    private readonly configured: Record<string, QueuePolicyInput> = {},
    defaultPolicy?: QueuePolicyInput,
  ) {
    this.base = resolvePolicy(defaultPolicy, DEFAULT_POLICY);
    for (const [queue, input] of Object.entries(configured)) {
      checkQueueName(queue);
      this.resolved.set(queue, resolvePolicy(input, this.base, queue));
    }
  }

  get(queue: string): QueuePolicy {
    checkQueueName(queue);
    let p = this.resolved.get(queue);
    if (!p) {
      p = this.base;
      this.resolved.set(queue, p);
    }
    return p;
  }

  /** Layers `input` over the configured policy of `queue` and keeps the result. */
  declare(queue: string, input?: QueuePolicyInput): QueuePolicy {
    checkQueueName(queue);
    const configured = this.configured[queue] ? resolvePolicy(this.configured[queue], this.base, queue) : this.base;
    const p = input ? resolvePolicy(input, configured, queue) : configured;
    this.resolved.set(queue, p);
    return p;
  }

  forget(queue: string): void {
    this.resolved.delete(queue);
  }
}
