/**
 * Group commit: writes that arrive while a commit is being prepared or is in
 * flight share the next transaction, so one fsync serves many messages and
 * durability does not cap throughput. Every caller's promise settles only
 * after the transaction holding its write commits (or fails).
 */
export class GroupCommitter<Op, R = void> {
  private pending: { op: Op; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private lazyTimer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;

  /**
   * @param commit - writes all ops in one transaction, in order, and returns one result per op
   * @param maxBatch - upper bound on ops in one transaction
   */
  constructor(
    private readonly commit: (ops: Op[]) => Promise<R[]> | R[],
    private readonly maxBatch = 2000,
    private readonly lazyFlushMs = 25,
  ) {}

  /**
   * @param lazy - the caller is not waiting on this write to answer anyone:
   *   let it ride along with the next urgent commit, or commit it within
   *   `lazyFlushMs` — one fsync fewer per message on a busy interface.
   */
  submit(op: Op, lazy = false): Promise<R> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (lazy) this.scheduleLazy();
      else this.schedule();
    });
  }

  private scheduleLazy(): void {
    if (this.lazyTimer || this.scheduled || this.inFlight) return;
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = null;
      this.schedule();
    }, this.lazyFlushMs);
  }

  get depth(): number {
    return this.pending.length;
  }

  /** Resolves when everything submitted so far is committed. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight) {
      if (this.inFlight) await this.inFlight.catch(() => undefined);
      else await this.flush();
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // setImmediate, not a timer: every write queued in this turn of the event
    // loop joins the batch, without adding latency when traffic is light.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.pending.length === 0) return;
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    const batch = this.pending.splice(0, this.maxBatch);
    this.inFlight = (async () => {
      try {
        const results = await this.commit(batch.map((b) => b.op));
        batch.forEach((b, i) => b.resolve(results[i] as R));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    })();
    await this.inFlight;
    this.inFlight = null;
    if (this.pending.length > 0) this.schedule();
  }
}
