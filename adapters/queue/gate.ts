/**
 * A counting gate: at most `limit` holders at once; the rest wait in line.
 * This is how producers slow down instead of buffering without bound when a
 * backend falls behind (STYLE: backpressure, not memory growth).
 */
export class Gate {
  private holders = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.holders;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves once a slot is held; pair with {@link release}. */
  acquire(): Promise<void> {
    if (this.holders < this.limit) {
      this.holders++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.holders--;
  }

  /** Runs `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
