/**
 * Collects calls made in the same turn of the event loop into batches of at
 * most `maxBatch` (SQS takes ten entries per call) and sends them with at
 * most `maxInFlight` requests outstanding. Each caller's promise settles with
 * its own entry's result. This is the SQS analogue of group commit.
 */
export class Batcher<In, Out = void> {
  private pending: { input: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private inFlight = 0;

  /**
   * @param send - sends one batch; returns one result (or Error) per entry, in order
   * @param maxBatch - entries per request
   * @param maxInFlight - requests outstanding at once
   */
  constructor(
    private readonly send: (inputs: In[]) => Promise<(Out | Error)[]>,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      this.schedule();
    });
  }

  get depth(): number {
    return this.pending.length + this.inFlight;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.inFlight++;
      this.send(batch.map((b) => b.input)).then(
        (results) => batch.forEach((b, i) => (results[i] instanceof Error ? b.reject(results[i]) : b.resolve(results[i] as Out))),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }
}
