import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseX12 } from '../../adapters/x12';
import { fixtureJson, fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../../test/fixtures/x12';
import { flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import x12837pInit = require('./x12-837p');

helper.init(require.resolve('node-red'));

const node837 = withCatalog(x12837pInit, __dirname, 'x12-837p');

describe('x12-837p node', () => {
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

  async function load(settings: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'b1', z: 'f1', type: 'x12-837p', name: 'claims-837', parties: JSON.stringify(TEST_PARTIES), billing: JSON.stringify(TEST_BILLING), placeOfService: '11', filingIndicator: 'CI', payerName: '', payerId: '', requestTa1: true, ...settings, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load(node837, flow);
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('b1') };
  }

  function noPhi(...things: unknown[]): void {
    for (const t of things) expect(x12CanariesIn(JSON.stringify(t) ?? '')).toEqual([]);
    expect(x12CanariesIn(JSON.stringify(logEvents()))).toEqual([]);
  }

  test('a DFT^P03 becomes a valid 837P, recorded in the store, control numbers in the providers dir', async () => {
    const { out, status } = await load();
    const source = await hub.store.insert({ direction: 'inbound', endpoint: 'emr-events', body: 'dft' });
    flowNode('b1').receive({ payload: fixtureText('ivf-cycle.dft-p03.hl7'), hubMessageId: source.id } as TestMsg);
    const msg = await out.next();
    const parsed = parseX12(msg.payload as string);
    expect(parsed.kind).toBe('837P');
    if (parsed.kind !== '837P') return;
    expect(parsed.issues).toEqual([]);
    expect(parsed.claims.map((c) => c.claimId)).toEqual(['ACCT-IVF-0318']);
    expect(msg.manifest).toMatchObject({ interchangeControlNumber: '000000001', senderId: 'REPROMEDSUBMIT', transactions: [{ claimIds: ['ACCT-IVF-0318'] }] });
    expect(msg.fileName).toBe('REPROMEDSUBMIT_000000001.837');
    const record = await hub.store.get(msg.hubMessageId as string, { includeBody: true });
    expect(record).toMatchObject({ direction: 'outbound', messageType: '837P', controlId: '000000001', status: 'processing', parentId: source.id, endpoint: 'claims-837', contentType: 'application/edi-x12' });
    expect(record?.body?.toString()).toBe(msg.payload);
    expect(existsSync(join(hub.dir, 'providers', 'x12-control-numbers.db'))).toBe(true);
    await status.until((s) => s.text === 'built 1');
    noPhi(status.all);
  });

  test('the same msg again gets the stored interchange back: no second claim, no new control numbers', async () => {
    const { out } = await load();
    const input = { _msgid: 'dft-1', payload: fixtureText('ivf-cycle.dft-p03.hl7') } as TestMsg;
    flowNode('b1').receive({ ...input });
    const first = await out.next();
    flowNode('b1').receive({ ...input });
    const again = await out.next();
    expect(again.payload).toBe(first.payload);
    expect(again.hubMessageId).toBe(first.hubMessageId);
    expect(again.x12).toMatchObject({ reused: true, interchangeControlNumber: '000000001' });
    expect(again.manifest).toMatchObject({ interchangeControlNumber: '000000001', groupControlNumber: (first.manifest as { groupControlNumber: string }).groupControlNumber, transactions: (first.manifest as { transactions: unknown }).transactions });
    // A retry of the built msg (from a Catch flow after a failed delivery) also reuses it.
    flowNode('b1').receive({ ...first, payload: fixtureText('ivf-cycle.dft-p03.hl7') });
    expect(((await out.next()).x12 as { reused: boolean }).reused).toBe(true);
    flowNode('b1').receive({ _msgid: 'dft-2', payload: fixtureText('ivf-cycle.dft-p03.hl7') } as TestMsg);
    expect((await out.next()).controlId).toBe('000000002');
  });

  test('FHIR Claim and ChargeItem bundle input', async () => {
    const { out } = await load();
    flowNode('b1').receive({ payload: fixtureJson('ivf-transfer.claim.fhir.json') } as TestMsg);
    flowNode('b1').receive({ payload: JSON.stringify(fixtureJson('ivf-retrieval.charges.bundle.json')) } as TestMsg);
    for (const msg of [await out.next(), await out.next()]) {
      const parsed = parseX12(msg.payload as string);
      expect(parsed.kind === '837P' && parsed.issues).toEqual([]);
    }
  });

  test('control numbers survive a redeploy', async () => {
    let { out } = await load();
    flowNode('b1').receive({ payload: fixtureText('ivf-cycle.dft-p03.hl7') } as TestMsg);
    expect((await out.next()).controlId).toBe('000000001');
    await helper.unload();
    ({ out } = await load());
    flowNode('b1').receive({ payload: fixtureText('ivf-cycle.dft-p03.hl7') } as TestMsg);
    expect((await out.next()).controlId).toBe('000000002');
  });

  test('a charge message without charges reaches Catch as PARSE, naming the field and no patient data', async () => {
    const { caught, status } = await load();
    const noCharges = fixtureText('ivf-cycle.dft-p03.hl7')
      .split('\r')
      .filter((s) => !s.startsWith('FT1'))
      .join('\r');
    flowNode('b1').receive({ payload: noCharges } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE', message: 'X12BuildError: message has no FT1 charge' });
    expect(failed.retryable).toBe(false);
    await status.until((s) => s.text === 'error: PARSE');
    noPhi(failed.error, status.all);
  });

  test('without trading partners the node shows "not configured" and fails with CONFIG', async () => {
    const { caught, status } = await load({ parties: '', billing: '' });
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'not configured' });
    flowNode('b1').receive({ payload: fixtureText('ivf-cycle.dft-p03.hl7') } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'CONFIG' });
    expect(failed.retryable).toBe(false);
  });
});
