import { Histogram, Registry } from 'prom-client';
import { EndpointHistogram } from './endpoint-histogram';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// On a bound, between bounds, below the first, past the last, zero, and a run of equal values.
const OBSERVED: [string, number][] = [
  ['hl7-intake', 0.0005],
  ['hl7-intake', 0.0007],
  ['hl7-intake', 0.00001],
  ['lab-results', 45],
  ['hl7-intake', 0],
  ['lab-results', 0.01],
  ['hl7-intake', 2.5],
  ['hl7-intake', 2.5],
  ['hl7-intake', 0.3],
];

function side(): { ours: Registry; theirs: Registry; fast: EndpointHistogram; stock: Histogram<'endpoint'> } {
  const ours = new Registry();
  const theirs = new Registry();
  const fast = new EndpointHistogram('hub_ack_latency_seconds', 'Receipt to ACK.', BUCKETS, ours);
  const stock = new Histogram({ name: 'hub_ack_latency_seconds', help: 'Receipt to ACK.', labelNames: ['endpoint'], buckets: BUCKETS, registers: [theirs] });
  return { ours, theirs, fast, stock };
}

describe('EndpointHistogram: what prom-client Histogram shows, for the same observations', () => {
  test('the scrape text is identical', async () => {
    const { ours, theirs, fast, stock } = side();
    for (const [endpoint, v] of OBSERVED) {
      fast.observe(endpoint, v);
      stock.observe({ endpoint }, v);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('hub_ack_latency_seconds_bucket{le="0.0005",endpoint="hl7-intake"} 3');
    expect(text).toContain('hub_ack_latency_seconds_bucket{le="+Inf",endpoint="lab-results"} 2');
    expect(text).toContain('hub_ack_latency_seconds_count{endpoint="hl7-intake"} 7');
  });

  test('get() values read as the monitor reads them (metricName, le, endpoint)', async () => {
    const { fast, stock } = side();
    for (const [endpoint, v] of OBSERVED) {
      fast.observe(endpoint, v);
      stock.observe({ endpoint }, v);
    }
    const plain = (values: { labels: object; value: number; metricName?: string }[]): unknown[] =>
      values.map((v) => ({ labels: { ...v.labels }, value: v.value, metricName: v.metricName }));
    const mine = await fast.get();
    const stocks = await stock.get();
    expect(plain(mine.values)).toEqual(plain(stocks.values));
    expect({ ...mine, values: [] }).toEqual({ name: stocks.name, help: stocks.help, type: stocks.type, aggregator: stocks.aggregator, values: [] });
  });

  test('a value that is not a finite number is left out instead of throwing on the intake path; reset empties it', async () => {
    const { ours, fast } = side();
    fast.observe('hl7-intake', Number.NaN);
    fast.observe('hl7-intake', Number.POSITIVE_INFINITY);
    expect((await fast.get()).values).toEqual([]);
    fast.observe('hl7-intake', 0.002);
    expect(await ours.metrics()).toContain('hub_ack_latency_seconds_count{endpoint="hl7-intake"} 1');
    ours.resetMetrics();
    expect((await fast.get()).values).toEqual([]);
  });

  test('buckets out of order are refused when it is made', () => {
    expect(() => new EndpointHistogram('x_seconds', 'x', [0.1, 0.01], new Registry())).toThrow('ascending');
  });
});
