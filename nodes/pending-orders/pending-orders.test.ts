import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { parseEmrEvent } from '../../adapters/emr';
import { monitoringOrderBundle } from '../../test/fixtures/fhir-orders';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import pendingOrdersInit = require('./pending-orders');

helper.init(require.resolve('node-red'));

const node = withCatalog(pendingOrdersInit, __dirname, 'pending-orders');

const ORM = [
  'MSH|^~\\&|IVFEMR|CLINIC|IVFHUB|LAB|20261204070000||ORM^O01|EMR-1|P|2.5.1',
  `PID|1||${CANARY_MRN}^^^CLINIC^MR||${CANARY_NAME}||${CANARY_DOB}|F`,
  'ORC|NW|PL-1|S26-000777',
  'OBR|1|PL-1|S26-000777|2243-4^Estradiol^LN',
  'ORC|NW|PL-1|S26-000777',
  'OBR|2|PL-1|S26-000777|21198-7^hCG^LN',
].join('\r') + '\r';

describe('pending-orders node', () => {
  let hub: HubHarness;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    expect(canariesIn(logEvents())).toEqual([]);
  });

  async function load() {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'keep', z: 'f1', type: 'pending-orders', mode: 'save', tests: '{"2243-4": "E2", "21198-7": "HCG"}', wires: [['saved']] },
      { id: 'ask', z: 'f1', type: 'pending-orders', mode: 'answer', tests: '', wires: [['answered']] },
      { id: 'keepOrm', z: 'f1', type: 'pending-orders', mode: 'save', tests: '{"2243-4": "E2"}', lisOrm: true, wires: [['saved']] },
      { id: 'keepOml', z: 'f1', type: 'pending-orders', mode: 'save', tests: '{"2243-4": "E2"}', lisOrm: true, lisMessage: 'OML^O21', wires: [['saved']] },
      { id: 'close', z: 'f1', type: 'pending-orders', mode: 'complete', tests: '', wires: [['closed']] },
      { id: 'closed', z: 'f1', type: 'helper' },
      { id: 'saved', z: 'f1', type: 'helper' },
      { id: 'answered', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load(node, flow);
    return { saved: new MessageTap('saved'), answered: new MessageTap('answered'), closed: new MessageTap('closed'), caught: new MessageTap('caught'), status: new StatusTap('keep') };
  }

  test('keeps an ORM in the store (payload untouched for the LIS) and answers a host query from it', async () => {
    const { saved, answered, status } = await load();
    flowNode('keep').receive({ payload: ORM, hubMessageId: 'src-1' } as TestMsg);
    const out = await saved.next();
    expect(out.payload).toBe(ORM);
    expect(out.orders).toEqual([expect.objectContaining({ specimenId: 'S26-000777', tests: ['E2', 'HCG'] })]);
    const records = await hub.store.search({ endpoint: 'pending-orders', controlId: 'S26-000777' });
    expect(records.items).toHaveLength(1);
    await status.until((s) => s.text === '1 kept');

    flowNode('ask').receive({ query: { specimenIds: ['S26-000777', 'S26-NONE'], testIds: [], allTests: true }, _astmQuery: { id: 'q1' } } as TestMsg);
    const reply = await answered.next();
    expect((reply.orders as { specimenId: string; tests: string[] }[]).map((o) => [o.specimenId, o.tests])).toEqual([['S26-000777', ['E2', 'HCG']]]);
    expect(reply._astmQuery).toEqual({ id: 'q1' });
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('results close the order: an analyzer asking again for the specimen gets nothing to run', async () => {
    const { saved, answered, closed } = await load();
    flowNode('keep').receive({ payload: ORM } as TestMsg);
    await saved.next();
    const observation = (code: string, status = 'final') => ({
      resourceType: 'Observation',
      status,
      code: { coding: [{ system: 'http://loinc.org', code }] },
      specimen: { identifier: { system: 'urn:ivf-hub:specimen-id', value: 'S26-000777' } },
    });
    // E2 only: hCG is still to run.
    flowNode('close').receive({ observations: [observation('2243-4'), observation('21198-7', 'preliminary')], hubMessageId: 'res-1' } as TestMsg);
    expect(await closed.next()).toMatchObject({ ordersCompleted: [], ordersOutstanding: ['S26-000777'] });
    flowNode('ask').receive({ query: { specimenIds: ['S26-000777'], testIds: [], allTests: true } } as TestMsg);
    expect(((await answered.next()).orders as { tests: string[] }[]).map((o) => o.tests)).toEqual([['HCG']]);

    flowNode('close').receive({ payload: [observation('21198-7')] } as TestMsg);
    expect(await closed.next()).toMatchObject({ ordersCompleted: ['S26-000777'], ordersOutstanding: [] });
    flowNode('ask').receive({ query: { specimenIds: ['S26-000777'], testIds: [], allTests: true } } as TestMsg);
    expect((await answered.next()).orders).toEqual([]);
  });

  test('keeps the orders of an EMR order event (FHIR ServiceRequests), answers a host query from them, and a revoke cancels them', async () => {
    const { saved, answered } = await load();
    const event = (type: string, status: string) => parseEmrEvent(JSON.stringify({ id: `evt-${status}`, type, occurredAt: '2026-12-04T07:00:00-05:00', data: monitoringOrderBundle('S26-000888', status) }));
    flowNode('keep').receive({ payload: {}, emrEvent: event('order.placed', 'active'), hubMessageId: 'emr-1' } as TestMsg);
    const out = await saved.next();
    // 10501-5 has no instrument code in this node's table: it goes as it is.
    expect(out.orders).toEqual([expect.objectContaining({ specimenId: 'S26-000888', tests: ['E2', '10501-5'], priority: 'S' })]);
    flowNode('ask').receive({ query: { specimenIds: ['S26-000888'], testIds: [], allTests: true } } as TestMsg);
    expect(((await answered.next()).orders as { tests: string[] }[]).map((o) => o.tests)).toEqual([['E2', '10501-5']]);

    flowNode('keep').receive({ payload: {}, emrEvent: event('order.changed', 'revoked') } as TestMsg);
    expect(await saved.next()).toMatchObject({ orders: [], cancelled: ['S26-000888'] });
    flowNode('ask').receive({ query: { specimenIds: ['S26-000888'], testIds: [], allTests: true } } as TestMsg);
    expect((await answered.next()).orders).toEqual([]);

    // ORM for LIS: the same orders as an ORM^O01 in msg.payload, which this node reads back as the same orders.
    flowNode('keepOrm').receive({ payload: {}, emrEvent: event('order.placed', 'active') } as TestMsg);
    const withOrm = await saved.next();
    expect(String(withOrm.payload)).toMatch(/^MSH\|\^~\\&\|IVFHUB\|\|LIS\|\|\d{14}\+0000\|\|ORM\^O01\^ORM_O01\|/);
    flowNode('keep').receive({ payload: withOrm.payload } as TestMsg);
    expect((await saved.next()).orders).toEqual(withOrm.orders);

    // The same as OML^O21 (the LIS's choice in the node): specimens in SPM, read back as the same orders.
    flowNode('keepOml').receive({ payload: {}, emrEvent: event('order.placed', 'active') } as TestMsg);
    const withOml = await saved.next();
    expect(String(withOml.payload)).toMatch(/\|OML\^O21\^OML_O21\|/);
    expect(String(withOml.payload)).toMatch(/\rSPM\|1\|\^/);
    flowNode('keep').receive({ payload: withOml.payload } as TestMsg);
    expect((await saved.next()).orders).toEqual(withOrm.orders);
  });

  test('a message that is not an order, or a msg without a query, reaches Catch as PARSE, not retryable', async () => {
    const { caught } = await load();
    flowNode('keep').receive({ payload: {}, emrEvent: { type: 'charge.posted', charge: {} } } as TestMsg);
    expect(await caught.next()).toMatchObject({ error: { code: 'PARSE' }, retryable: false });
    flowNode('keep').receive({ payload: ORM.replace('ORM^O01', 'ADT^A01') } as TestMsg);
    expect(await caught.next()).toMatchObject({ error: { code: 'PARSE' }, retryable: false });
    flowNode('ask').receive({ payload: 'x' } as TestMsg);
    expect(await caught.next()).toMatchObject({ error: { code: 'PARSE' }, retryable: false });
    flowNode('close').receive({ payload: 'x' } as TestMsg);
    expect(await caught.next()).toMatchObject({ error: { code: 'PARSE' }, retryable: false });
  });
});
