/**
 * Group commit with a pipeline: writes that arrive while earlier batches are
 * being committed share the next transaction (one fsync for many messages),
 * and up to `maxInFlight` batches may be outstanding, so the database thread
 * starts on the next batch the moment it finishes one instead of waiting for
 * a round trip to the main thread. Batches are applied in submission order
 * (the database thread is serial). Each caller's promise settles once the
 * transaction holding its write has committed or failed.
 *
 * The store's GroupCommitter keeps one batch in flight; the queue runs on a
 * worker thread, where that idles both threads half of the time.
 */
export class WritePipeline<Op, R> {
  private pending: { op: Op; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  /**
   * @param commit - writes all ops in one transaction, in order; one result per op
   * @param maxInFlight - batches outstanding at once
   * @param maxBatch - ops per transaction
   */
  constructor(
    private readonly commit: (ops: Op[]) => Promise<R[]>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 4000,
  ) {}

  submit(op: Op): Promise<R> {
    if (this.closed) return Promise.reject(new Error('write pipeline closed'));
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /** Writes waiting for a transaction. */
  get depth(): number {
    return this.pending.length;
  }

  /** Resolves when everything submitted so far is committed. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate: every write queued in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      this.commit(batch.map((b) => b.op)).then(
        (results) => batch.forEach((b, i) => b.resolve(results[i] as R)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.inFlight--;
        if (this.pending.length > 0) this.schedule();
        else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }
}
