import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { HealthRegistry } from '../../adapters/shared/health-registry';
import { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import { silentLogger } from '../../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../../adapters/shared/registry';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore, MessageRecord } from '../../adapters/store';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { ageRecord } from '../../test/support/age-record';
import { coreNodes, withHooks } from '../../test/support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import { pollUntil } from '../../test/support/poll';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { testStoreKeys } from '../../test/support/store-keys';
import storeRecordInit = require('./store-record');

helper.init(require.resolve('node-red'));

const storeRecordNode = withCatalog(storeRecordInit, __dirname, 'store-record');

function flow(settings: Record<string, unknown> = {}, withCatch = true): FlowNode[] {
  const nodes: FlowNode[] = [
    { id: 'f1', type: 'tab', label: 'store-record test' },
    {
      id: 'n1',
      z: 'f1',
      type: 'store-record',
      name: '',
      direction: 'inbound',
      endpoint: 'lis-mllp',
      status: 'received',
      contentType: 'application/hl7-v2',
      ...settings,
      wires: [['out']],
    },
    { id: 'out', z: 'f1', type: 'helper' },
  ];
  if (withCatch) {
    nodes.push(
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    );
  }
  return nodes;
}

/** Node-RED's numeric level for `node.error` (RED.log.ERROR). */
const LOG_ERROR = 20;

describe('store-record node', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let reprocessors: ReprocessRegistry;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-store-record-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    reprocessors = new ReprocessRegistry();
    setHubServices({ store, logger: silentLogger, health: new HealthRegistry(), reprocessors });
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
    await helper.load(storeRecordNode, flow(settings));
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  async function stored(msg: TestMsg): Promise<MessageRecord> {
    expect(typeof msg.hubMessageId).toBe('string');
    const record = await store.get(msg.hubMessageId as string, { includeBody: true });
    if (!record) throw new Error(`record ${String(msg.hubMessageId)} is not in the store`);
    return record;
  }

  test('an operator reprocess sends a stored inbound record on again as it was stored (text as text, an object as the object), without storing it twice', async () => {
    const { out } = await load();
    const hl7 = canaryOru('CTRL-2001');
    flowNode('n1').receive({ payload: hl7, controlId: 'CTRL-2001', messageType: 'ORU^R01' } as TestMsg);
    const first = await stored(await out.next());
    await reprocessors.get('n1')!({ ...first, body: first.body! });
    const again = await out.next();
    expect(again).toMatchObject({ payload: hl7, hubMessageId: first.id, controlId: 'CTRL-2001', messageType: 'ORU^R01' });
    expect((await store.get(first.id))?.attempts).toBe(1);

    const request = { to: '+16175550188', note: 'free text' };
    flowNode('n1').receive({ payload: request } as TestMsg);
    const json = await stored(await out.next());
    await reprocessors.get('n1')!({ ...json, body: json.body! });
    expect((await out.next()).payload).toEqual(request);
    expect(await store.count({ endpoint: 'lis-mllp' })).toBe(2);
  });

  test('an outbound store-record offers no reprocess', async () => {
    await load({ direction: 'outbound' });
    expect(reprocessors.get('n1')).toBeUndefined();
  });

  test('stores a string payload with the configured settings and the msg metadata', async () => {
    const { out, caught } = await load();
    const hl7 = canaryOru('CTRL-1001');

    flowNode('n1').receive({
      payload: hl7,
      controlId: 'CTRL-1001',
      messageType: 'ORU^R01',
      patientId: CANARY_MRN,
      sender: 'IVFLIS',
      receiver: 'IVFEMR',
    } as TestMsg);
    const msg = await out.next();
    const record = await stored(msg);

    expect(msg.payload).toBe(hl7);
    expect(record).toMatchObject({
      id: msg.hubMessageId,
      flowId: 'f1',
      nodeId: 'n1',
      direction: 'inbound',
      endpoint: 'lis-mllp',
      status: 'received',
      contentType: 'application/hl7-v2',
      controlId: 'CTRL-1001',
      messageType: 'ORU^R01',
      sender: 'IVFLIS',
      receiver: 'IVFEMR',
      parentId: null,
      attempts: 0,
      size: Buffer.byteLength(hl7),
    });
    expect(record.body?.toString('utf8')).toBe(hl7);
    expect(caught.pending).toBe(0);
  });

  test('stores only the keyed hash of msg.patientId, never the MRN', async () => {
    const { out } = await load();

    flowNode('n1').receive({ payload: canaryOru('CTRL-1002'), patientId: CANARY_MRN } as TestMsg);
    const record = await stored(await out.next());

    expect(record.patientKey).toBe(store.patientKey(CANARY_MRN));
    expect(record.patientKey).not.toContain(CANARY_MRN);
    const { body: _body, ...metadata } = record;
    expect(canariesIn(metadata)).toEqual([]);
    expect((await store.search({ patientId: CANARY_MRN })).items.map((r) => r.id)).toEqual([record.id]);
  });

  test('stores a Buffer payload byte for byte', async () => {
    const { out } = await load({ contentType: 'application/octet-stream' });
    const bytes = Buffer.from([0x0b, 0x00, 0xff, 0xfe, 0x1c, 0x0d]);

    flowNode('n1').receive({ payload: bytes } as TestMsg);
    const record = await stored(await out.next());

    expect(record.body?.equals(bytes)).toBe(true);
    expect(record.size).toBe(bytes.length);
    expect(record.contentType).toBe('application/octet-stream');
    expect(record.patientKey).toBeNull();
    expect(record.controlId).toBeNull();
  });

  test('stores an object payload as JSON', async () => {
    const { out } = await load({ contentType: 'application/json', direction: 'outbound', status: 'queued' });
    const payload = { resourceType: 'Observation', valueQuantity: { value: 152.4, unit: 'm[IU]/mL' } };

    flowNode('n1').receive({ payload } as TestMsg);
    const record = await stored(await out.next());

    expect(JSON.parse(record.body?.toString('utf8') ?? '')).toEqual(payload);
    expect(record).toMatchObject({ direction: 'outbound', status: 'queued', contentType: 'application/json' });
  });

  test('msg.endpoint overrides the configured endpoint', async () => {
    const { out } = await load();

    flowNode('n1').receive({ payload: 'x', endpoint: 'emr-fhir' } as TestMsg);
    const record = await stored(await out.next());

    expect(record.endpoint).toBe('emr-fhir');
  });

  test('without a configured endpoint, the node name stands in', async () => {
    const { out } = await load({ endpoint: '', name: 'lab-inbox' });

    flowNode('n1').receive({ payload: 'x' } as TestMsg);
    const record = await stored(await out.next());

    expect(record.endpoint).toBe('lab-inbox');
  });

  test('an incoming msg.hubMessageId becomes the parent of the new record', async () => {
    const { out } = await load({ direction: 'outbound' });
    const parent = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', body: canaryOru('CTRL-1003') });

    flowNode('n1').receive({ payload: 'MSH|ACK', hubMessageId: parent.id } as TestMsg);
    const msg = await out.next();
    const record = await stored(msg);

    expect(msg.hubMessageId).not.toBe(parent.id);
    expect(record.parentId).toBe(parent.id);
    expect((await store.search({ parentId: parent.id })).items.map((r) => r.id)).toEqual([record.id]);
  });

  test('status shows a running count and no payload data', async () => {
    const { out, status } = await load();

    flowNode('n1').receive({ payload: canaryOru('CTRL-1004'), patientId: CANARY_MRN, controlId: 'CTRL-1004' } as TestMsg);
    await out.next();
    flowNode('n1').receive({ payload: canaryOru('CTRL-1005'), patientId: CANARY_MRN, controlId: 'CTRL-1005' } as TestMsg);
    await out.next();
    await status.until((s) => s.text === 'stored 2');

    expect(status.all).toEqual([
      { fill: 'blue', shape: 'dot', text: 'storing' },
      { fill: 'green', shape: 'dot', text: 'stored 1' },
      { fill: 'blue', shape: 'dot', text: 'storing' },
      { fill: 'green', shape: 'dot', text: 'stored 2' },
    ]);
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('a store failure reaches a Catch node with a red status and no PHI', async () => {
    const { out, caught, status } = await load();
    await store.close();

    flowNode('n1').receive({ payload: canaryOru('CTRL-1006'), patientId: CANARY_MRN, controlId: 'CTRL-1006' } as TestMsg);
    const failed = await caught.next();
    await status.until((s) => s.fill === 'red');

    const error = failed.error as { message: string; code?: string; source: { id: string } };
    expect(error.source.id).toBe('n1');
    expect(error.code).toBe('STORE');
    expect(failed.controlId).toBe('CTRL-1006');
    expect(failed.hubMessageId).toBeUndefined();
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: STORE' });
    expect(out.pending).toBe(0);
    expect(canariesIn(error)).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('a store failure with no Catch node is logged by code and id, without PHI', async () => {
    await helper.load(storeRecordNode, flow({}, false));
    const status = new StatusTap('n1');
    await store.close();

    flowNode('n1').receive({ payload: canaryOru('CTRL-1008'), patientId: CANARY_MRN, controlId: 'CTRL-1008' } as TestMsg);
    // The red status is set in the same turn as done(err), which logs the unhandled error.
    await status.until((s) => s.fill === 'red');

    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(errors).toEqual([expect.objectContaining({ id: 'n1', type: 'store-record' })]);
    expect(String((errors[0] as { msg: unknown }).msg)).toMatch(/^StoreError: could not store message [0-9a-f-]{36}$/);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('without hub services, the error reaches a Catch node instead of crashing the flow', async () => {
    const { out, caught, status } = await load();
    clearHubServices();

    flowNode('n1').receive({ payload: canaryOru('CTRL-1007'), patientId: CANARY_MRN } as TestMsg);
    const failed = await caught.next();

    const error = failed.error as { message: string; source: { id: string } };
    expect(error.source.id).toBe('n1');
    expect(error.message).toMatch(/hub services are not initialised/);
    expect(out.pending).toBe(0);
    expect(canariesIn(error)).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);

    // The node keeps working once the services are back.
    reprocessors = new ReprocessRegistry();
    setHubServices({ store, logger: silentLogger, health: new HealthRegistry(), reprocessors });
    flowNode('n1').receive({ payload: 'x' } as TestMsg);
    await stored(await out.next());
  });

  describe('following the flow', () => {
    const FOLLOW = { follow: true, status: 'received' };

    /** store-record → function `step` → helper `out`; the function fails msgs whose payload says so. */
    async function loadFollowed(settings: Record<string, unknown> = FOLLOW): Promise<{ out: MessageTap; caught: MessageTap; status: StatusTap }> {
      const nodes = flow(settings).map((n) => (n.id === 'n1' ? { ...n, wires: [['step']] } : n));
      nodes.push({ id: 'step', z: 'f1', type: 'function', func: "if (String(msg.payload).startsWith('FAIL')) throw new Error('refused ' + msg.payload); return msg;", outputs: 1, noerr: 0, wires: [['out']] });
      await helper.load([withHooks(storeRecordNode), ...coreNodes('function/10-function.js')], nodes);
      return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
    }

    async function untilStatus(id: string, status: string): Promise<MessageRecord> {
      return pollUntil(`record ${id} ${status}`, async () => {
        const record = await store.get(id);
        return record?.status === status ? record : undefined;
      });
    }

    test('the record is stored processing whatever Status says, and becomes sent once the flow has finished with the msg', async () => {
      const { out } = await loadFollowed();
      const hl7 = canaryOru('CTRL-3001');
      flowNode('n1').receive({ payload: hl7, controlId: 'CTRL-3001', endpoint: 'elsewhere', patientId: CANARY_MRN } as TestMsg);
      const msg = await out.next();
      expect(msg.payload).toBe(hl7);
      const record = await stored(msg);
      // Recovery looks for this node's records under its own endpoint: msg.endpoint is not used.
      expect(record).toMatchObject({ endpoint: 'lis-mllp', nodeId: 'n1', controlId: 'CTRL-3001', attempts: 0 });
      expect((await untilStatus(record.id, 'sent')).errorCode).toBeNull();
    });

    test('a node failing the msg leaves the record in error with the error class and code, not its message', async () => {
      const { out } = await loadFollowed();
      flowNode('n1').receive({ payload: `FAIL ${CANARY_MRN}` } as TestMsg);
      const record = await pollUntil('an error record', async () => (await store.search({ endpoint: 'lis-mllp', status: 'error' })).items[0]);
      expect(record).toMatchObject({ errorCode: 'FLOW_ERROR', errorText: 'node step reported Error (UNKNOWN)' });
      expect(out.pending).toBe(0);
      expect(canariesIn(record)).toEqual([]);
    });

    test('a record a previous run stored and answered but never saw through the flow goes through it again once the flows start, without the HTTP objects', async () => {
      const hl7 = canaryOru('CTRL-3002');
      const left = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', nodeId: 'n1', flowId: 'f1', controlId: 'CTRL-3002', messageType: 'ORU^R01', status: 'processing', contentType: 'application/hl7-v2', body: hl7 });
      // Too fresh to tell from a live process's, and another node's: not taken.
      const fresh = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', nodeId: 'n1', controlId: 'CTRL-3003', status: 'processing', contentType: 'application/hl7-v2', body: 'fresh' });
      const other = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', nodeId: 'n9', controlId: 'CTRL-3004', status: 'processing', contentType: 'application/hl7-v2', body: 'other' });
      for (const r of [left, other]) ageRecord(dir, r.id, FOLLOW_TIMEOUT_MS + 1000);

      const { out } = await loadFollowed();
      const msg = await out.next();
      expect(msg).toMatchObject({ payload: hl7, hubMessageId: left.id, controlId: 'CTRL-3002', messageType: 'ORU^R01' });
      expect(msg.res).toBeUndefined();
      expect((await untilStatus(left.id, 'sent')).attempts).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(out.pending).toBe(0);
      expect((await store.get(fresh.id))?.status).toBe('processing');
      expect((await store.get(other.id))?.status).toBe('processing');
      expect(await store.count({ endpoint: 'lis-mllp' })).toBe(3);
    });

    test('without Follow the flow, a leftover is not sent again (the flow decides when such a record is done)', async () => {
      const left = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', nodeId: 'n1', status: 'processing', contentType: 'application/hl7-v2', body: 'left' });
      ageRecord(dir, left.id, FOLLOW_TIMEOUT_MS + 1000);
      const { out } = await loadFollowed({ follow: false });
      await new Promise((r) => setTimeout(r, 100));
      expect(out.pending).toBe(0);
      expect((await store.get(left.id))?.status).toBe('processing');
    });

    test('an operator reprocess sends the record through the flow again and it settles sent, one attempt more', async () => {
      const { out } = await loadFollowed();
      flowNode('n1').receive({ payload: 'ISA*00*X12 file' } as TestMsg);
      const first = await stored(await out.next());
      await untilStatus(first.id, 'sent');
      await reprocessors.get('n1')!({ ...first, body: first.body! });
      const again = await out.next();
      expect(again).toMatchObject({ payload: 'ISA*00*X12 file', hubMessageId: first.id });
      expect((await untilStatus(first.id, 'sent')).attempts).toBe(1);
      expect(await store.count({ endpoint: 'lis-mllp' })).toBe(1);
    });

    test('started without hub services, it refuses msgs (to Catch) rather than store records nobody follows', async () => {
      clearHubServices();
      const { out, caught } = await loadFollowed();
      setHubServices({ store, logger: silentLogger, health: new HealthRegistry(), reprocessors });
      flowNode('n1').receive({ payload: 'x' } as TestMsg);
      const failed = await caught.next();
      expect((failed.error as { message: string }).message).toMatch(/redeployed/);
      expect(out.pending).toBe(0);
      expect(await store.count({})).toBe(0);
    });

    test('an invalid Timeout is a config error naming the setting; a msg then reaches Catch and nothing is stored', async () => {
      const { out, caught, status } = await loadFollowed({ ...FOLLOW, processingTimeoutMs: '0' });
      await status.until((s) => s.text === 'error: CONFIG');
      const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
      expect(String((errors[0] as { msg: unknown }).msg)).toMatch(/processingTimeoutMs/);
      flowNode('n1').receive({ payload: 'x' } as TestMsg);
      const failed = await caught.next();
      expect((failed.error as { message: string }).message).toMatch(/processingTimeoutMs/);
      expect(out.pending).toBe(0);
      expect(await store.count({})).toBe(0);
    });
  });
});
