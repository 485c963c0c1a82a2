import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthRegistry } from '../../adapters/shared/health-registry';
import { silentLogger } from '../../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../../adapters/shared/registry';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore, MessageRecord } from '../../adapters/store';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { testStoreKeys } from '../../test/support/store-keys';
import storeRecordInit = require('../store-record/store-record');
import storeStatusInit = require('./store-status');

helper.init(require.resolve('node-red'));

const storeStatusNode = withCatalog(storeStatusInit, __dirname, 'store-status');
const storeRecordNode = withCatalog(storeRecordInit, join(__dirname, '..', 'store-record'), 'store-record');

function flow(settings: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'store-status test' },
    { id: 'n1', z: 'f1', type: 'store-status', name: '', status: 'sent', countAttempt: false, ...settings, wires: [['out']] },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

type CaughtError = { message: string; code?: string; source: { id: string; type: string } };

describe('store-status node', () => {
  let dir: string;
  let store: EncryptedMessageStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-store-status-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    setHubServices({ store, logger: silentLogger, health: new HealthRegistry() });
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    clearHubServices();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function load(settings: Record<string, unknown> = {}): Promise<{ out: MessageTap; caught: MessageTap; status: StatusTap }> {
    await helper.load(storeStatusNode, flow(settings));
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  async function received(controlId: string): Promise<MessageRecord> {
    return store.insert({ direction: 'outbound', endpoint: 'emr-mllp', controlId, patientId: CANARY_MRN, body: canaryOru(controlId) });
  }

  async function reread(id: string): Promise<MessageRecord> {
    const record = await store.get(id);
    if (!record) throw new Error(`record ${id} is not in the store`);
    return record;
  }

  test('moves the record to the configured status and passes the msg on', async () => {
    const { out, caught, status } = await load({ status: 'sent' });
    const record = await received('CTRL-2001');

    flowNode('n1').receive({ payload: canaryOru('CTRL-2001'), hubMessageId: record.id } as TestMsg);
    const msg = await out.next();
    await status.until((s) => s.fill === 'green');

    expect(msg.hubMessageId).toBe(record.id);
    expect(await reread(record.id)).toMatchObject({ status: 'sent', errorCode: null, errorText: null, attempts: 0 });
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'sent' });
    expect(caught.pending).toBe(0);
  });

  test('error status takes code and text from msg.error', async () => {
    const { out, status } = await load({ status: 'error' });
    const record = await received('CTRL-2002');

    flowNode('n1').receive({
      payload: canaryOru('CTRL-2002'),
      hubMessageId: record.id,
      error: { code: 'NACK', message: 'NACK AE for control ID CTRL-2002' },
    } as TestMsg);
    await out.next();
    await status.until((s) => s.fill === 'red');

    expect(await reread(record.id)).toMatchObject({ status: 'error', errorCode: 'NACK', errorText: 'NACK AE for control ID CTRL-2002' });
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error' });
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('error status without a msg.error code records FLOW_ERROR', async () => {
    const { out } = await load({ status: 'error' });
    const record = await received('CTRL-2003');

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id } as TestMsg);
    await out.next();

    expect(await reread(record.id)).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR', errorText: 'error raised by a flow node' });
  });

  test('an error text from outside the hub (which may quote input) is not stored', async () => {
    const { out } = await load({ status: 'error' });
    const record = await received('CTRL-2004');

    flowNode('n1').receive({
      payload: 'x',
      hubMessageId: record.id,
      error: { message: `Unexpected token P in JSON: "${canaryOru('CTRL-2004').slice(0, 80)}"`, source: { type: 'json' } },
    } as TestMsg);
    await out.next();

    const stored = await reread(record.id);
    expect(stored).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR', errorText: 'error raised by a json node' });
    expect(canariesIn(stored)).toEqual([]);
  });

  test('a status other than error clears an earlier error', async () => {
    const { out } = await load({ status: 'sent' });
    const record = await received('CTRL-2004');
    await store.update(record.id, { status: 'error', errorCode: 'TIMEOUT', errorText: 'no ACK for control ID CTRL-2004' });

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id, error: { code: 'IGNORED', message: 'ignored' } } as TestMsg);
    await out.next();

    expect(await reread(record.id)).toMatchObject({ status: 'sent', errorCode: null, errorText: null });
  });

  test('takes the status from msg.status when set to', async () => {
    const { out, status } = await load({ status: 'msg' });
    const record = await received('CTRL-2005');

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id, status: 'filtered' } as TestMsg);
    await out.next();
    await status.until((s) => s.fill === 'green');

    expect((await reread(record.id)).status).toBe('filtered');
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'filtered' });
  });

  test('countAttempt adds one attempt per msg', async () => {
    const { out } = await load({ status: 'queued', countAttempt: true });
    const record = await received('CTRL-2006');

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id } as TestMsg);
    await out.next();
    expect((await reread(record.id)).attempts).toBe(1);

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id } as TestMsg);
    await out.next();
    expect(await reread(record.id)).toMatchObject({ status: 'queued', attempts: 2 });
  });

  test('without countAttempt, attempts stay as they were', async () => {
    const { out } = await load({ status: 'processing', countAttempt: false });
    const record = await received('CTRL-2007');

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id } as TestMsg);
    await out.next();

    expect(await reread(record.id)).toMatchObject({ status: 'processing', attempts: 0 });
  });

  test('a msg without hubMessageId reaches a Catch node', async () => {
    const { out, caught } = await load();

    flowNode('n1').receive({ payload: canaryOru('CTRL-2008'), patientId: CANARY_MRN } as TestMsg);
    const failed = await caught.next();

    const error = failed.error as CaughtError;
    expect(error.source).toMatchObject({ id: 'n1', type: 'store-status' });
    expect(error.message).toBe('Error: msg.hubMessageId is missing: put a store record node earlier in the flow');
    expect(out.pending).toBe(0);
    expect(canariesIn(error)).toEqual([]);
  });

  test('a hubMessageId that is not stored reaches a Catch node instead of passing as sent', async () => {
    const { out, caught } = await load();

    flowNode('n1').receive({ payload: 'x', hubMessageId: '00000000-0000-7000-8000-000000000000' } as TestMsg);
    const failed = await caught.next();

    expect((failed.error as CaughtError).message).toContain('no stored message 00000000-0000-7000-8000-000000000000');
    expect(out.pending).toBe(0);
  });

  test('an invalid msg.status reaches a Catch node and leaves the record alone', async () => {
    const { out, caught } = await load({ status: 'msg' });
    const record = await received('CTRL-2009');

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id, status: 'lost' } as TestMsg);
    const failed = await caught.next();

    const error = failed.error as CaughtError;
    expect(error.source.id).toBe('n1');
    expect(error.message).toBe('Error: status must be one of received, processing, sent, queued, filtered, error');
    expect(out.pending).toBe(0);
    expect((await reread(record.id)).status).toBe('received');
  });

  test('a missing msg.status, when the node takes it from the msg, reaches a Catch node', async () => {
    const { out, caught } = await load({ status: 'msg' });
    const record = await received('CTRL-2010');

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id } as TestMsg);
    const failed = await caught.next();

    expect((failed.error as CaughtError).message).toMatch(/status must be one of/);
    expect(out.pending).toBe(0);
  });

  test('a store failure reaches a Catch node with a red status and no PHI', async () => {
    const { out, caught, status } = await load({ status: 'sent' });
    const record = await received('CTRL-2011');
    await store.close();

    flowNode('n1').receive({ payload: canaryOru('CTRL-2011'), hubMessageId: record.id, patientId: CANARY_MRN } as TestMsg);
    const failed = await caught.next();
    await status.until((s) => s.fill === 'red');

    const error = failed.error as CaughtError;
    expect(error.source.id).toBe('n1');
    expect(error.code).toBe('STORE');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: STORE' });
    expect(out.pending).toBe(0);
    expect(canariesIn(error)).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('without hub services, the error reaches a Catch node', async () => {
    const { out, caught } = await load();
    const record = await received('CTRL-2012');
    clearHubServices();

    flowNode('n1').receive({ payload: 'x', hubMessageId: record.id } as TestMsg);
    const failed = await caught.next();

    expect((failed.error as CaughtError).message).toMatch(/hub services are not initialised/);
    expect(out.pending).toBe(0);
    expect((await reread(record.id)).status).toBe('received');
  });

  test('after store-record in a flow, marks the new record sent and counts the attempt', async () => {
    await helper.load(
      [storeRecordNode, storeStatusNode],
      [
        { id: 'f1', type: 'tab', label: 'record then status' },
        { id: 'r1', z: 'f1', type: 'store-record', name: '', direction: 'outbound', endpoint: 'emr-mllp', status: 'processing', contentType: 'application/hl7-v2', wires: [['n1']] },
        { id: 'n1', z: 'f1', type: 'store-status', name: '', status: 'sent', countAttempt: true, wires: [['out']] },
        { id: 'out', z: 'f1', type: 'helper' },
      ],
    );
    const out = new MessageTap('out');

    flowNode('r1').receive({ payload: canaryOru('CTRL-2013'), controlId: 'CTRL-2013', patientId: CANARY_MRN } as TestMsg);
    const msg = await out.next();

    expect(await reread(msg.hubMessageId as string)).toMatchObject({
      direction: 'outbound',
      endpoint: 'emr-mllp',
      controlId: 'CTRL-2013',
      status: 'sent',
      attempts: 1,
      patientKey: store.patientKey(CANARY_MRN),
    });
  });
});
