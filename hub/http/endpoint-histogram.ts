import type { Registry } from 'prom-client';

interface Series {
  /** Per bucket (not cumulative), the last one for +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

interface ValueEntry {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram with one label, `endpoint`, observed once or twice
 * per message on the intake's event loop. prom-client's Histogram.observe
 * validates and hashes a labels object and builds a closure on every call,
 * about 1 µs each (bench:mllp profile); here an observation is a map lookup
 * and a short bucket scan. What a scrape (and `get()`) returns is the same as
 * prom-client's own histogram, which the tests check side by side.
 */
export class EndpointHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  /**
   * @param name - metric name (without _bucket/_sum/_count)
   * @param help - HELP text
   * @param buckets - upper bounds in ascending order
   * @param registry - where the scrape finds it
   */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must be in ascending order`);
    }
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /**
   * @param endpoint - the endpoint label
   * @param value - seconds; a value that is not a finite number is ignored rather than thrown on the intake's path
   */
  observe(endpoint: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.series.get(endpoint);
    if (!s) {
      s = { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series.set(endpoint, s);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }

  /** What prom-client's Histogram.get() returns: cumulative buckets (le), then _sum and _count, per endpoint. */
  get(): Promise<{ name: string; help: string; type: string; values: ValueEntry[]; aggregator: string }> {
    const values: ValueEntry[] = [];
    for (const [endpoint, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: i < this.buckets.length ? this.buckets[i]! : '+Inf', endpoint }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { endpoint }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { endpoint }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.series.clear();
  }
}
