import { Counter, Registry } from 'prom-client';
import { DeferredCounter } from './deferred-counter';

const LABELS = ['endpoint', 'outcome', 'type'] as const;
const COUNTED: [string, string, string][] = [
  ['hl7-intake', 'received', 'ORU^R01'],
  ['hl7-intake', 'received', 'ORU^R01'],
  ['hl7-intake', 'received', ''],
  ['hl7-intake', 'sent', 'ORU^R01'],
  ['lab-results', 'errored', 'OUL^R22'],
];

describe('DeferredCounter: what prom-client Counter shows, for the same increments', () => {
  test('the scrape text is identical, and counts made between two scrapes are in the second', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new DeferredCounter({ name: 'hub_messages_total', help: 'Messages.', labelNames: LABELS }, ours);
    const stock = new Counter({ name: 'hub_messages_total', help: 'Messages.', labelNames: LABELS, registers: [theirs] });
    const count = ([endpoint, outcome, type]: [string, string, string]): void => {
      fast.inc(endpoint, outcome, type);
      stock.inc({ endpoint, outcome, type });
    };
    COUNTED.forEach(count);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('hub_messages_total{endpoint="hl7-intake",outcome="received",type="ORU^R01"} 2');
    COUNTED.slice(0, 2).forEach(count);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('hub_messages_total{endpoint="hl7-intake",outcome="received",type="ORU^R01"} 4');
    expect(text).toContain('hub_messages_total{endpoint="hl7-intake",outcome="received",type=""} 1');
  });

  test('get() on the registered metric sees counts not yet scraped', async () => {
    const registry = new Registry();
    const fast = new DeferredCounter({ name: 'hub_messages_total', help: 'Messages.', labelNames: LABELS }, registry);
    fast.inc('hl7-intake', 'sent', 'ORU^R01');
    fast.inc('hl7-intake', 'sent', 'ORU^R01');
    const values = (await registry.getSingleMetric('hub_messages_total')!.get()).values;
    expect(values).toEqual([{ labels: { endpoint: 'hl7-intake', outcome: 'sent', type: 'ORU^R01' }, value: 2 }]);
  });
});
