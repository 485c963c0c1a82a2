import { join } from 'node:path';
import { signWebhook } from '../../adapters/emr';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import type { MessageRecord } from '../../adapters/store';
import { CANARY_MRN } from '../../test/fixtures/canary';
import { ageRecord } from '../../test/support/age-record';
import { coreNodes } from '../../test/support/mllp-harness';
import { pollUntil } from '../../test/support/poll';
import { canariesIn, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import serverInit = require('../emr-server/emr-server');
import emrInInit = require('./emr-in');
import { HUB_TOKEN, post, startHubHarness } from './testing/webhook-harness';
import type { HubHarness } from './testing/webhook-harness';

helper.init(require.resolve('node-red'));

const SECRET = 'emr-webhook-secret-0123456789';
const PATH = '/emr/events';

function event(id: string, overrides: Record<string, unknown> = {}): string {
  // Pretty-printed on purpose: only the exact bytes verify.
  return JSON.stringify(
    {
      id,
      type: 'charge.posted',
      occurredAt: '2025-03-23T17:00:00Z',
      data: { chargeId: 'CHG-1', patientId: CANARY_MRN, accountId: 'ACCT-IVF-0318', code: '58970', amount: { value: 3500, currency: 'USD' }, serviceDate: '2025-03-18', diagnoses: ['N97.9'] },
      ...overrides,
    },
    null,
    2,
  );
}

function signed(body: string, at = Math.floor(Date.now() / 1000), secret = SECRET): Record<string, string> {
  return { 'content-type': 'application/json', 'x-emr-signature': signWebhook(secret, body, at) };
}

describe('emr-in node', () => {
  let hub: HubHarness;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  async function load(credentials: Record<string, unknown> = { srv: { webhookSecret: SECRET } }, extra: FlowNode[] = [], settings: Record<string, unknown> = {}): Promise<{ out: MessageTap; status: StatusTap }> {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'srv', type: 'emr-server', name: 'emr-core', baseUrl: '', authType: 'none' },
      { id: 'in1', z: 'f1', type: 'emr-in', name: 'emr-events', server: 'srv', path: PATH, ...settings, wires: [['out', ...extra.map((n) => n.id)]] },
      { id: 'out', z: 'f1', type: 'helper' },
      ...extra,
    ];
    await helper.load([hub.capture(withCatalog(serverInit, join(__dirname, '..', 'emr-server'), 'emr-server')), hub.capture(withCatalog(emrInInit, __dirname, 'emr-in')), ...coreNodes('function/10-function.js')], flow, credentials);
    hub.mount();
    return { out: new MessageTap('out'), status: new StatusTap('in1') };
  }

  test('a signed event is stored, answered 202 after the commit, then emitted; the path needs no hub token', async () => {
    const { out, status } = await load();
    expect(hub.publicRoutes.has(PATH)).toBe(true);
    const body = event('evt-1');
    const res = await post(hub.url(PATH), body, signed(body));
    expect(res.status).toBe(202);
    expect(JSON.parse(res.text)).toEqual({ ok: true, eventId: 'evt-1' });

    const msg = await out.next();
    expect(msg.emrEvent).toMatchObject({ id: 'evt-1', type: 'charge.posted', charge: { amountCents: 350000, accountId: 'ACCT-IVF-0318' } });
    expect(msg.payload).toEqual(msg.emrEvent);
    expect(msg).toMatchObject({ controlId: 'evt-1', messageType: 'charge.posted', patientId: CANARY_MRN });
    const record = await hub.store.get(msg.hubMessageId as string, { includeBody: true });
    expect(record).toMatchObject({ direction: 'inbound', endpoint: 'emr-events', nodeId: 'in1', controlId: 'evt-1', messageType: 'charge.posted', patientKey: hub.store.patientKey(CANARY_MRN) });
    expect(record?.body?.toString()).toBe(body);
    // The flow finished with it: the record says so.
    await waitForStatus(msg.hubMessageId as string, 'sent');
    await status.until((s) => s.text === 'received 1');
    expect(status.all[0]).toEqual({ fill: 'green', shape: 'dot', text: 'listening' });
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  async function waitForStatus(id: string, status: string): Promise<MessageRecord> {
    let record: MessageRecord | null = null;
    await pollUntil(`record ${id} ${status}`, async () => (record = await hub.store.get(id))?.status === status);
    return record!;
  }

  test('a node failing the event leaves its record in error, with the error class and code but not its message', async () => {
    const { out } = await load(undefined, [
      { id: 'fail', z: 'f1', type: 'function', func: "throw new Error('cannot post for ' + msg.patientId);", outputs: 1, noerr: 0, wires: [] },
    ]);
    const body = event('evt-f1');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(202);
    const msg = await out.next();
    const record = await waitForStatus(msg.hubMessageId as string, 'error');
    expect(record).toMatchObject({ errorCode: 'FLOW_ERROR', errorText: 'node fail reported Error (UNKNOWN)' });
    // The function node logs its own error message (the flow author's text); the hub's record and log lines do not carry it.
    const hubLines = logEvents().filter((e) => (e as { type?: string }).type !== 'function');
    expect(hubLines.length).toBeGreaterThan(0);
    expect(canariesIn([record, hubLines])).toEqual([]);
  });

  test('an event a previous run stored and answered 202 but never saw through the flow goes through it once the flows start', async () => {
    const body = event('evt-left');
    const left = await hub.store.insert({ direction: 'inbound', endpoint: 'emr-events', nodeId: 'in1', flowId: 'f1', controlId: 'evt-left', messageType: 'charge.posted', status: 'processing', contentType: 'application/json', body });
    // Another node's leftover, and one too fresh to tell from a live process's: not taken.
    const other = await hub.store.insert({ direction: 'inbound', endpoint: 'emr-events', nodeId: 'in9', controlId: 'evt-other', messageType: 'charge.posted', status: 'processing', contentType: 'application/json', body: event('evt-other') });
    const fresh = await hub.store.insert({ direction: 'inbound', endpoint: 'emr-events', nodeId: 'in1', controlId: 'evt-fresh', messageType: 'charge.posted', status: 'processing', contentType: 'application/json', body: event('evt-fresh') });
    for (const r of [left, other]) ageRecord(hub.dir, r.id, FOLLOW_TIMEOUT_MS + 1000);
    const { out } = await load();
    const msg = await out.next();
    expect(msg).toMatchObject({ hubMessageId: left.id, controlId: 'evt-left', messageType: 'charge.posted', patientId: CANARY_MRN });
    expect((await waitForStatus(left.id, 'sent')).attempts).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
    expect((await hub.store.get(other.id))?.status).toBe('processing');
    expect((await hub.store.get(fresh.id))?.status).toBe('processing');
  });

  test('reprocess: the stored event is sent on again as it arrived (same record, one attempt more); another endpoint\'s record is refused', async () => {
    const { out } = await load();
    const body = event('evt-r1');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(202);
    const first = await out.next();
    const record = await hub.store.get(first.hubMessageId as string, { includeBody: true });
    await hub.reprocessors.get('in1')!({ ...record!, body: record!.body! });
    const again = await out.next();
    expect(again).toMatchObject({ hubMessageId: first.hubMessageId, controlId: 'evt-r1', messageType: 'charge.posted' });
    expect(again.emrEvent).toEqual(first.emrEvent);
    expect((await waitForStatus(record!.id, 'sent')).attempts).toBe(1);
    await expect(hub.reprocessors.get('in1')!({ ...record!, body: record!.body!, endpoint: 'elsewhere' })).rejects.toMatchObject({ code: 'CONFIG' });
  });

  test('forged, stale, unsigned and replayed requests are refused and nothing is emitted or stored', async () => {
    const { out, status } = await load();
    const body = event('evt-2');
    const forged = await post(hub.url(PATH), body, signed(body, undefined, 'not-the-secret-0123456789'));
    expect(forged.status).toBe(401);
    const stale = await post(hub.url(PATH), body, signed(body, Math.floor(Date.now() / 1000) - 3600));
    expect(stale.status).toBe(401);
    const unsigned = await post(hub.url(PATH), body, { 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
    // The signature is over the exact bytes: a re-serialised body does not verify.
    const reserialised = await post(hub.url(PATH), JSON.stringify(JSON.parse(body)), signed(body));
    expect(reserialised.status).toBe(401);
    await status.until((s) => s.text === 'rejected: bad-signature');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'rejected: bad-signature' });

    const headers = signed(body);
    expect((await post(hub.url(PATH), body, headers)).status).toBe(202);
    await out.next();
    const replay = await post(hub.url(PATH), body, headers);
    expect(replay.status).toBe(409);
    expect(JSON.parse(replay.text)).toEqual({ ok: false, error: 'replayed' });

    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
    expect(await hub.store.count({ endpoint: 'emr-events' })).toBe(1);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('the same event id signed again (the EMR retrying a lost answer) is answered 202 and not emitted twice', async () => {
    const { out } = await load();
    const body = event('evt-3');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(202);
    await out.next();
    const again = await post(hub.url(PATH), body, signed(body, Math.floor(Date.now() / 1000) + 1));
    expect(again.status).toBe(202);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
    expect(await hub.store.count({ controlId: 'evt-3' })).toBe(1);
  });

  test('an authentic but invalid event is 400 and not emitted', async () => {
    const { out } = await load();
    const body = event('evt-4', { type: 'patient.deleted' });
    const res = await post(hub.url(PATH), body, signed(body));
    expect(res.status).toBe(400);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
  });

  test('the route goes through the hub token check, which only its public-route entry lets it skip', async () => {
    const { out } = await load();
    hub.publicRoutes.unregister(PATH, 'in1');
    const body = event('evt-7');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(401);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
    const withToken = await post(hub.url(PATH), body, { ...signed(body), authorization: `Bearer ${HUB_TOKEN}` });
    expect(withToken.status).toBe(202);
    expect((await out.next()).controlId).toBe('evt-7');
  });

  test('the Timeout setting: a flow that has not finished with the event within it leaves the record error TIMEOUT', async () => {
    // A function node that says it calls done() and never does: the flow never finishes with the event.
    const hold: FlowNode = { id: 'hold', z: 'f1', type: 'function', func: 'if (msg.never) node.done(); return null;', outputs: 1, noerr: 0, wires: [] };
    const { out } = await load(undefined, [hold], { processingTimeoutMs: '300' });
    const body = event('evt-t1');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(202);
    const msg = await out.next();
    const record = await waitForStatus(msg.hubMessageId as string, 'error');
    expect(record).toMatchObject({ errorCode: 'TIMEOUT', errorText: 'not completed within 300 ms' });
  });

  test('a Timeout that is not a whole number of ms from 1 to an hour is a configuration error naming the setting, and nothing is served', async () => {
    const { status } = await load(undefined, [], { processingTimeoutMs: '90s' });
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: CONFIG' });
    expect(JSON.stringify(logEvents())).toContain('processingTimeoutMs must be a whole number');
    const body = event('evt-t2');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(404);
  });

  test('without a webhook secret the node shows "not configured" and serves nothing', async () => {
    const { status } = await load({});
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'not configured' });
    expect(hub.publicRoutes.has(PATH)).toBe(false);
    const body = event('evt-5');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(404);
  });

  test('closing the flow removes the route and its public-route entry', async () => {
    await load();
    expect(hub.publicRoutes.has(PATH)).toBe(true);
    await helper.unload();
    expect(hub.publicRoutes.has(PATH)).toBe(false);
    const body = event('evt-6');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(404);
  });
});
