import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldValue } from '../../adapters/astm';
import type { FhirBundle } from '../../adapters/astm';
import { IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import type { AstmInstrumentNode } from '../../nodes/astm-instrument/types';
import { CANARY_MRN } from '../fixtures/canary';
import type { AnalyzerSimulator } from '../sim/analyzer-simulator';
import { astmNodes, inbound, outbound, play, startAnalyzer } from '../support/astm-harness';
import { freePort, login, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { coreNodes, DEBUG, eventually, LINK, startTestHub, testStepNode } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap } from '../support/node-red-helper';
import type { FlowNode, NodeInit } from '../support/node-red-helper';

/**
 * The reference analyzer intake flow (flows/analyzer-intake.json), as
 * `npm start` seeds it: loaded in the test helper and in the built hub
 * process, it stores and normalizes what a simulated IMMULITE sends and
 * answers its host query from the pending-orders queue.
 */

helper.init(require.resolve('node-red'));

const ROOT = join(__dirname, '..', '..');
const FLOW_FILE = join(ROOT, 'flows', 'analyzer-intake.json');
const INSTRUMENT = 'd4a5f7a100000002';
const ASTM_IN = 'd4a5f7a100000003';
const CHANGE = 'd4a5f7a10000000d';
const ENDPOINT = 'immulite-2000';
const SAMPLE_SPECIMEN = 'S26-000123';

const core = coreNodes('common/20-inject.js', 'function/10-function.js', 'function/15-change.js', DEBUG, LINK);
const nodes: NodeInit[] = [...astmNodes(), testStepNode, ...core];

function referenceFlow(): FlowNode[] {
  return JSON.parse(readFileSync(FLOW_FILE, 'utf8')) as FlowNode[];
}

/** A host query for one specimen; `at` varies H.14, so a repeat is a new message, not a duplicate. */
function query(specimen: string, at: string): string {
  return `H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|${at}\rQ|1|^${specimen}||ALL||||||||O\rL|1\r`;
}

test('the reference flow file: unique ids, ${HUB_BIND}:${HUB_ASTM_PORT}, and debug nodes that never print payloads', () => {
  const flow = referenceFlow();
  const others = ['hl7-intake.json', 'http-intake.json'].flatMap((f) => (JSON.parse(readFileSync(join(ROOT, 'flows', f), 'utf8')) as FlowNode[]).map((n) => n.id));
  const ids = flow.map((n) => n.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.filter((id) => others.includes(id))).toEqual([]);
  expect(flow.find((n) => n.id === INSTRUMENT)).toMatchObject({ type: 'astm-instrument', host: '${HUB_BIND}', port: '${HUB_ASTM_PORT}', profile: 'immulite-2000', mode: 'server' });
  for (const debug of flow.filter((n) => n.type === 'debug')) {
    expect(debug.console).toBe(false);
    // Identifiers and counts only: a JSONata summary, or msg.astmSent (record id, attempts, frames).
    expect(['jsonata', 'msg']).toContain(debug.targetType);
    if (debug.targetType === 'msg') expect(debug.complete).toBe('astmSent');
  }
});

/** What each JSONata debug node of the flow would show for this msg. */
async function debugViews(msg: Record<string, unknown>): Promise<unknown[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { util } = require('@node-red/util') as { util: { prepareJSONataExpression(e: string, n: object): unknown; evaluateJSONataExpression(e: unknown, m: object, cb: (err: unknown, v: unknown) => void): void } };
  const debugs = referenceFlow().filter((n) => n.type === 'debug' && n.targetType === 'jsonata');
  return Promise.all(
    debugs.map(
      (d) => new Promise((resolve, reject) => util.evaluateJSONataExpression(util.prepareJSONataExpression(String(d.complete), {}), msg, (err, v) => (err ? reject(err as Error) : resolve(v)))),
    ),
  );
}

describe('reference analyzer intake flow in the test helper', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
    process.env.HUB_ASTM_PORT = '0';
    process.env.HUB_BIND = '127.0.0.1';
  });

  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    delete process.env.HUB_ASTM_PORT;
    delete process.env.HUB_BIND;
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('stores and normalizes results, and answers a host query from the pending-orders queue', async () => {
    // A tap on the results output, beside the link-out.
    const flow = referenceFlow().map((n) => (n.id === ASTM_IN ? { ...n, wires: [[...(n.wires as string[][])[0]!, 'tap'], ...(n.wires as string[][]).slice(1)] } : n));
    await helper.load(nodes, [...flow, { id: 'tap', z: flow[0]!.id, type: 'test-step', x: 0, y: 0, wires: [] }], {});
    const tap = new MessageTap('tap');
    const instrument = flowNode(INSTRUMENT) as AstmInstrumentNode;
    await instrument.whenStarted();
    sim = await startAnalyzer({ port: instrument.boundPort()! });

    await play(sim, 'immulite-ivf', IMMULITE_IVF_STREAM);
    const results = await tap.next();
    expect((results.payload as FhirBundle).entry.filter((e) => e.resource.resourceType === 'Observation')).toHaveLength(4);
    // The debug nodes, shown the msg that carries the most PHI: identifiers and counts only.
    expect(canariesIn(results)).not.toEqual([]);
    const views = await debugViews(results);
    expect(views).toContainEqual({ instrument: ENDPOINT, results: 4, hubMessageId: results.hubMessageId });
    expect(canariesIn(views)).toEqual([]);
    const stored = await inbound(hub.store, ENDPOINT);
    expect(stored.map((r) => r.body!.toString('utf8'))).toEqual([IMMULITE_IVF_STREAM]);
    await eventually(async () => (await hub.store.get(stored[0]!.id))?.status === 'sent', 'results record sent');

    // The inject loads the sample queue once at start.
    await eventually(() => flowNode(CHANGE).context().flow.get('pendingOrders') !== undefined, 'the sample pending orders');
    await play(sim, 'immulite-query', query(SAMPLE_SPECIMEN, '20261203101600'));
    await sim.waitForReceived(1, 20_000);
    const answer = sim.received[0]!.message;
    const d = answer.delimiters;
    expect(answer.records.map((r) => r.type).join('')).toBe('HPOOOOL');
    const orders = answer.patients.flatMap((p) => p.orders.map((o) => o.record!));
    expect(orders.map((o) => [fieldValue(o, 3, d), fieldValue(o, 5, d, 4), fieldValue(o, 26, d)])).toEqual([
      [SAMPLE_SPECIMEN, 'E2', 'Q'],
      [SAMPLE_SPECIMEN, 'LH', 'Q'],
      [SAMPLE_SPECIMEN, 'PGSN', 'Q'],
      [SAMPLE_SPECIMEN, 'HCG', 'Q'],
    ]);
    await eventually(async () => (await outbound(hub.store, ENDPOINT)).some((r) => r.status === 'sent'), 'the answer recorded as sent');

    // A specimen the queue does not know: "no information".
    await play(sim, 'immulite-query-unknown', query('S26-404', '20261203101700'));
    await sim.waitForReceived(2, 20_000);
    const none = sim.received[1]!.message;
    expect(none.records.map((r) => r.type).join('')).toBe('HL');
    expect(fieldValue(none.terminator!, 3, none.delimiters)).toBe('I');
  });
});

describe('reference analyzer intake flow in the built hub (as npm start runs it)', () => {
  let hub: HubProcess | undefined;
  let sim: AnalyzerSimulator | undefined;
  const PASSWORD = 'admin-password-for-astm-tests';

  afterAll(async () => {
    await sim?.close();
    await hub?.stop();
  });

  test('an analyzer on HUB_ASTM_PORT: results stored and searchable by endpoint, host query answered', async () => {
    const astmPort = await freePort();
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: PASSWORD, HUB_ASTM_PORT: String(astmPort) });
    const token = await login(hub.url, 'admin', PASSWORD);
    const headers = { authorization: `Bearer ${token}` };
    // The flows have started once /readyz answers; the listener may still be binding.
    await eventually(async () => (await fetch(`${hub!.url}/readyz`)).status === 200, 'readiness');
    sim = await startAnalyzerWhenListening(astmPort);

    await play(sim, 'immulite-ivf', IMMULITE_IVF_STREAM);
    type Listed = { items: { id: string; direction: string; messageType: string; status: string; contentType: string }[] };
    const list = async (): Promise<Listed['items']> => ((await (await fetch(`${hub!.url}/api/v1/messages?endpoint=${ENDPOINT}&limit=50`, { headers })).json()) as Listed).items;
    await eventually(async () => (await list()).some((m) => m.direction === 'inbound' && m.status === 'sent'), 'the results message stored and sent', 2500);
    const inboundItems = (await list()).filter((m) => m.direction === 'inbound');
    expect(inboundItems).toEqual([expect.objectContaining({ messageType: 'ASTM', contentType: 'application/astm', status: 'sent' })]);
    const body = await fetch(`${hub.url}/api/v1/messages/${inboundItems[0]!.id}?includeBody=true`, { headers });
    expect(body.status).toBe(200);

    // The sample queue is loaded just after start; ask until the answer carries orders.
    let answer;
    for (let attempt = 0; attempt < 20; attempt++) {
      await play(sim, `immulite-query-${attempt}`, query(SAMPLE_SPECIMEN, `202612031018${String(attempt).padStart(2, '0')}`));
      await sim.waitForReceived(attempt + 1, 20_000);
      answer = sim.received[attempt]!.message;
      if (answer.patients.length > 0) break;
    }
    expect(answer!.records.map((r) => r.type).join('')).toBe('HPOOOOL');
    expect(canariesIn(hub.output())).toEqual([]);
    expect(hub.output()).not.toContain(CANARY_MRN);
  });
});

/** The hub reports ready when flows have started; the ASTM port binds right after. */
async function startAnalyzerWhenListening(port: number): Promise<AnalyzerSimulator> {
  for (let i = 0; ; i++) {
    try {
      return await startAnalyzer({ port });
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
