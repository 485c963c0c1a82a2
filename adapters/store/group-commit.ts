/**
 * Group commit: writes that arrive while a commit is being prepared or is in
 * flight share the next transaction, so one fsync serves many messages and
 * durability does not cap throughput. Every caller's promise settles only
 * after the transaction holding its write commits (or fails).
 *
 * With `maxInFlight` > 1 (a backend that applies batches serially on its own
 * thread, e.g. the SQLite writer), the next batch is handed over while the
 * previous one is still committing, so the database thread never waits for a
 * round trip to this thread between two commits. Batches must then be applied
 * in the order they were handed over; the backend may merge queued batches
 * into one transaction.
 */
export class GroupCommitter<Op, R = void> {
  private pending: { op: Op; lazy: boolean; resolve: (result: R) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private lazyTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  /**
   * @param commit - writes all ops in one transaction, in order, and returns one result per op
   * @param maxBatch - upper bound on ops in one transaction
   * @param lazyFlushMs - longest a lazy write waits for company
   * @param maxInFlight - batches handed to `commit` and not yet settled; 1 unless the backend applies them in order
   */
  constructor(
    private readonly commit: (ops: Op[]) => Promise<R[]> | R[],
    private readonly maxBatch = 2000,
    private readonly lazyFlushMs = 25,
    private readonly maxInFlight = 1,
  ) {}

  /**
   * @param lazy - the caller is not waiting on this write to answer anyone:
   *   let it ride along with the next urgent commit, or commit it within
   *   `lazyFlushMs` — one fsync fewer per message on a busy interface.
   */
  submit(op: Op, lazy = false): Promise<R> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ op, lazy, resolve, reject });
      if (lazy) this.scheduleLazy();
      else this.schedule();
    });
  }

  private scheduleLazy(): void {
    // A commit in flight flushes what is pending when it settles.
    if (this.lazyTimer || this.scheduled || this.inFlight.size > 0) return;
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
    while (this.pending.length > 0 || this.inFlight.size > 0) {
      if (this.inFlight.size >= this.maxInFlight || this.pending.length === 0) await Promise.race([...this.inFlight]);
      else this.flush();
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight.size >= this.maxInFlight) return;
    this.scheduled = true;
    // setImmediate, not a timer: every write queued in this turn of the event
    // loop joins the batch, without adding latency when traffic is light.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight.size >= this.maxInFlight || this.pending.length === 0) return;
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    const batch = this.pending.splice(0, this.maxBatch);
    const done: Promise<void> = (async () => {
      try {
        const results = await this.commit(batch.map((b) => b.op));
        batch.forEach((b, i) => b.resolve(results[i] as R));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    })().finally(() => {
      this.inFlight.delete(done);
      // Lazy writes left alone keep waiting for company: committed by themselves the
      // moment a commit returns, they cost the writer an fsync and held the next
      // urgent batch behind it (traced on bench:mllp: a commit of one status update
      // between every two batches of inserts).
      if (this.pending.some((p) => !p.lazy)) this.schedule();
      else if (this.pending.length > 0) this.scheduleLazy();
    });
    // Never rejects: each caller gets the failure through its own promise.
    this.inFlight.add(done);
  }
}
