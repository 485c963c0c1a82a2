import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldValue } from '../../adapters/astm';
import { ordersFromHl7 } from '../../adapters/lab';
import { IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { signWebhook } from '../../adapters/emr';
import { buildAck, parse, serialize } from '../../adapters/hl7';
import { MllpServer } from '../../adapters/mllp';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { monitoringOrderBundle } from '../fixtures/fhir-orders';
import type { AnalyzerSimulator } from '../sim/analyzer-simulator';
import { play, startAnalyzer } from '../support/astm-harness';
import { startFakeFhirServer } from '../support/fake-fhir-server';
import type { FakeFhirServer } from '../support/fake-fhir-server';
import { freePort, login, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { msaOf, RawMllp } from '../support/mllp-harness';
import { canariesIn } from '../support/node-red-helper';

/**
 * The lab reference flows (flows/lab-results.json, flows/lab-orders.json,
 * with flows/hl7-intake.json as the HL7 entry) in the built hub process, as
 * `npm start` seeds them, over real sockets: a simulated analyzer (ASTM over
 * TCP), an LIS and the EMR sending HL7 over MLLP, a loopback FHIR server as
 * the EMR core and a loopback MLLP server as the LIS.
 */

const ROOT = join(__dirname, '..', '..');
const FLOWS = join(ROOT, 'flows');
const PASSWORD = 'admin-password-for-lab-tests';
const EMR_TOKEN = 'emr-token-for-lab-tests';
const EMR_WEBHOOK_SECRET = 'emr-webhook-secret-for-lab-tests';
const PATIENT_SYSTEM = 'urn:ivf-hub:patient-id';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; links?: string[] } & Record<string, unknown>;
type Observation = {
  identifier: { system: string; value: string }[];
  code: { coding: { system: string; code: string }[] };
  subject: { reference?: string };
  specimen: { identifier: { value: string } };
  valueQuantity?: { value: number; comparator?: string; system: string; code: string };
  extension?: { url: string; valueReference?: { reference: string } }[];
};

function flowFile(name: string): FlowNode[] {
  return JSON.parse(readFileSync(join(FLOWS, name), 'utf8')) as FlowNode[];
}

describe('lab reference flow files', () => {
  const all = readdirSync(FLOWS)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => flowFile(f));
  const byId = new Map(all.map((n) => [n.id, n]));
  const lab = [...flowFile('lab-results.json'), ...flowFile('lab-orders.json'), ...flowFile('hl7-intake.json')];

  test('node ids are unique across every reference flow, and every wire, link and config reference resolves', () => {
    expect(all.length).toBe(byId.size);
    for (const n of lab) {
      for (const target of [...(n.wires ?? []).flat(), ...(n.links ?? [])]) expect(byId.has(target) ? target : `${n.id} -> missing ${target}`).toBe(target);
      for (const key of ['instrument', 'server', 'listener']) if (typeof n[key] === 'string') expect(byId.get(n[key] as string)?.type).toMatch(/^(astm-instrument|emr-server|mllp-listener)$/);
    }
  });

  test('readable: groups with names, comments, no function nodes, debug nodes that never print payloads', () => {
    expect(lab.filter((n) => n.type === 'function')).toEqual([]);
    for (const tab of lab.filter((n) => n.type === 'tab')) {
      expect(lab.filter((n) => n.z === tab.id && n.type === 'group').every((g) => typeof g.name === 'string' && g.name !== '')).toBe(true);
      expect(lab.filter((n) => n.z === tab.id && n.type === 'comment').length).toBeGreaterThan(0);
    }
    for (const d of lab.filter((n) => n.type === 'debug')) {
      expect(d.console).toBe(false);
      expect(d.targetType === 'jsonata' || (d.targetType === 'msg' && d.complete === 'astmSent')).toBe(true);
    }
  });

  test('every outbound call is queue-out -> queue-in -> destination, and each such queue-in waits for its configuration', () => {
    const upstream = new Map<string, string[]>();
    for (const n of all) for (const t of (n.wires ?? []).flat()) upstream.set(t, [...(upstream.get(t) ?? []), n.id]);
    const fedByQueue = (id: string, seen = new Set<string>()): boolean => {
      const sources = upstream.get(id) ?? [];
      return sources.length > 0 && sources.every((s) => !seen.has(s) && (byId.get(s)?.type === 'queue-in' || (byId.get(s)?.type !== 'astm-in' && byId.get(s)?.type !== 'mllp-in' && fedByQueue(s, new Set([...seen, s])))));
    };
    const destinations = lab.filter((n) => n.type === 'emr-out' || n.type === 'mllp-out' || (n.type === 'astm-out' && n.name === 'download'));
    expect(destinations.length).toBeGreaterThanOrEqual(3);
    for (const d of destinations) expect([d.id, fedByQueue(d.id)]).toEqual([d.id, true]);
    const queueIns = lab.filter((n) => n.type === 'queue-in');
    expect(queueIns.map((q) => [q.queue, q.requires])).toEqual(
      expect.arrayContaining([
        ['lab-results', 'HUB_EMR_FHIR_URL HUB_EMR_TOKEN'],
        ['unmatched-results', 'HUB_EMR_FHIR_URL HUB_EMR_TOKEN'],
        ['lis-orders', 'HUB_LIS_MLLP_HOST HUB_LIS_MLLP_PORT'],
        ['analyzer-orders', 'HUB_ASTM_ORDER_DOWNLOAD'],
      ]),
    );
    // Endpoints and secrets come from the environment only.
    const text = JSON.stringify(lab);
    expect(text).toContain('${HUB_EMR_FHIR_URL}');
    expect(text).not.toMatch(/https?:\/\/(?!hl7\.org|terminology)/);
  });
});

/** An IMMULITE message for one specimen and patient; `at` (H.14) makes it a new message, not a re-send. */
function immulite(specimen: string, at: string, mrn = CANARY_MRN): string {
  return IMMULITE_IVF_STREAM.replace(/S26-004411/g, specimen).replace('20261203101500', at).replace(CANARY_MRN, mrn);
}

function oru(controlId: string, specimen: string, mrn = CANARY_MRN, p4 = '<0.5'): string {
  return [
    `MSH|^~\\&|IVFLIS|REPROLAB|IVFHUB|REPROCLINIC|20261204101500+0100||ORU^R01^ORU_R01|${controlId}|P|2.5.1`,
    `PID|1||${mrn}^^^REPROCLINIC^MR||${CANARY_NAME}||${CANARY_DOB}|F`,
    `OBR|1|ORD-${controlId}|${specimen}^REPROLAB|24357-6^Cycle monitoring^LN|||20261204080500+0100`,
    'OBX|1|NM|2243-4^Estradiol^LN||2210|pg/mL|30-400|H|||F|||20261204093000+0100',
    `OBX|2|NM|2839-9^Progesterone^LN||${p4}|ng/mL|0.2-1.5||||F|||20261204093000+0100`,
    'OBX|3|NM|21198-7^hCG beta^LN||152.4|mIU/mL|<5|H|||F|||20261204093000+0100',
  ].join('\r') + '\r';
}

function orm(controlId: string, specimen: string): string {
  return [
    `MSH|^~\\&|IVFEMR|REPROCLINIC|IVFHUB|REPROLAB|20261204070000+0100||ORM^O01|${controlId}|P|2.5.1`,
    `PID|1||${CANARY_MRN}^^^REPROCLINIC^MR||${CANARY_NAME}||${CANARY_DOB}|F`,
    `ORC|NW|PL-${controlId}|${specimen}`,
    `OBR|1|PL-${controlId}|${specimen}|2243-4^Estradiol^LN|S`,
    `ORC|NW|PL-${controlId}|${specimen}`,
    `OBR|2|PL-${controlId}|${specimen}|21198-7^hCG beta^LN|S`,
  ].join('\r') + '\r';
}

function query(specimen: string, at: string): string {
  return `H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|${at}\rQ|1|^${specimen}||ALL||||||||O\rL|1\r`;
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, hub?: HubProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${hub ? `\n--- hub output ---\n${hub.output().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('lab flows in the built hub (as npm start runs them)', () => {
  let hub: HubProcess;
  let fhir: FakeFhirServer;
  let lis: MllpServer;
  const lisReceived: string[] = [];
  let sim: AnalyzerSimulator;
  let mllp: RawMllp;
  let headers: Record<string, string>;
  let patientId: string;
  let cycleId: string;

  const observations = (): Observation[] => fhir.all('Observation') as unknown as Observation[];
  const ofSpecimen = (specimen: string): Observation[] => observations().filter((o) => o.specimen.identifier.value === specimen);
  type Stats = { items: { queue: string; ready: number; delayed: number; inFlight: number; dead: number }[] };
  /** Messages a queue still holds (waiting, in backoff, or in a flow); dead letters apart. */
  const depth = async (queue: string): Promise<number> => {
    const q = ((await (await fetch(`${hub.url}/api/v1/queues`, { headers })).json()) as Stats).items.find((s) => s.queue === queue);
    return q ? q.ready + q.delayed + q.inFlight : 0;
  };
  const sendHl7 = async (text: string): Promise<void> => {
    const ack = msaOf(await mllp.request(text));
    expect(ack.code).toBe('AA');
  };

  beforeAll(async () => {
    fhir = await startFakeFhirServer({ auth: 'bearer', staticToken: EMR_TOKEN });
    patientId = fhir.seed({ resourceType: 'Patient', identifier: [{ system: PATIENT_SYSTEM, value: CANARY_MRN }] }).id;
    cycleId = fhir.seed({ resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: `Patient/${patientId}` } }).id;
    lis = new MllpServer({ port: 0 }, async (payload) => {
      const text = payload.toString('latin1');
      lisReceived.push(text);
      return serialize(buildAck(parse(text), 'AA'));
    });
    const lisPort = (await lis.listen()).port;
    const astmPort = await freePort();
    const mllpPort = await freePort();
    hub = await startHubProcess({
      HUB_ADMIN_PASSWORD: PASSWORD,
      HUB_ASTM_PORT: String(astmPort),
      HUB_MLLP_PORT: String(mllpPort),
      HUB_EMR_FHIR_URL: fhir.baseUrl,
      HUB_EMR_TOKEN: EMR_TOKEN,
      HUB_EMR_WEBHOOK_SECRET: EMR_WEBHOOK_SECRET,
      HUB_LIS_MLLP_HOST: '127.0.0.1',
      HUB_LIS_MLLP_PORT: String(lisPort),
    });
    headers = { authorization: `Bearer ${await login(hub.url, 'admin', PASSWORD)}` };
    // /readyz is 200 once the listeners listen; this also waits for the analyzer simulator to connect.
    await waitFor('the ASTM and MLLP listeners', async () => {
      try {
        sim = await startAnalyzer({ port: astmPort });
        mllp = await RawMllp.open(mllpPort);
        return true;
      } catch {
        return false;
      }
    }, 10_000, hub);
  }, 60_000);

  afterAll(async () => {
    mllp?.close();
    await sim?.close();
    const exit = await hub?.stop();
    await lis?.close();
    await fhir?.close();
    expect(exit?.code).toBe(0);
    // No PHI in the hub's log, from any of the tests.
    expect(canariesIn(hub.output())).toEqual([]);
    expect(hub.output()).not.toContain(CANARY_MRN);
  });

  test('analyzer -> hub -> EMR: Observations with LOINC, UCUM and censoring, bound to the patient and cycle; QC kept apart', async () => {
    await play(sim, 'immulite-a', immulite('S26-100001', '20261204101501'));
    await waitFor('4 Observations at the EMR', () => ofSpecimen('S26-100001').length === 4, 20_000, hub);
    const byLoinc = new Map(ofSpecimen('S26-100001').map((o) => [o.code.coding.find((c) => c.system === LOINC)!.code, o]));
    expect([...byLoinc.keys()].sort()).toEqual(['10501-5', '21198-7', '2243-4', '2839-9']);
    expect(byLoinc.get('2243-4')!.valueQuantity).toMatchObject({ value: 1843, system: UCUM, code: 'pg/mL' });
    expect(byLoinc.get('10501-5')!.valueQuantity).toMatchObject({ value: 4.21, code: 'm[IU]/mL' });
    expect(byLoinc.get('2839-9')!.valueQuantity).toMatchObject({ value: 0.2, comparator: '<', code: 'ng/mL' });
    expect(byLoinc.get('21198-7')!.valueQuantity).toMatchObject({ value: 5000, comparator: '>', code: 'm[IU]/mL' });
    // Acknowledged only once every Observation was written: the queue is empty, nothing dead-lettered.
    await waitFor('lab-results drained', async () => (await depth('lab-results')) === 0, 10_000, hub);
    for (const o of byLoinc.values()) {
      expect(o.subject).toEqual({ reference: `Patient/${patientId}` });
      expect(o.extension).toContainEqual({ url: 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', valueReference: { reference: `EpisodeOfCare/${cycleId}` } });
    }
    // The QC control lot of the same message never reaches the chart; it is stored with a QC marker.
    expect(observations().filter((o) => o.specimen.identifier.value.startsWith('QC-'))).toEqual([]);
    type Listed = { items: { messageType: string; status: string; parentId: string | null }[] };
    const qc = (await (await fetch(`${hub.url}/api/v1/messages?endpoint=lab-qc`, { headers })).json()) as Listed;
    expect(qc.items).toEqual([expect.objectContaining({ messageType: 'QC', status: 'filtered' })]);
    // What left for the EMR is recorded too: one outbound record per lab message, linked to it, sent.
    type Outbound = { items: { direction: string; messageType: string; status: string; parentId: string | null; patientKey: string | null }[] };
    const toEmr = ((await (await fetch(`${hub.url}/api/v1/messages?endpoint=emr-core&limit=50`, { headers })).json()) as Outbound).items;
    expect(toEmr).toEqual([expect.objectContaining({ direction: 'outbound', messageType: 'FHIR Observation', status: 'sent', parentId: expect.any(String) })]);
    // The analyzer's message itself is stored under the instrument's endpoint, its body readable by an admin.
    type Inbound = { items: { id: string; direction: string; messageType: string; contentType: string }[] };
    const stored = ((await (await fetch(`${hub.url}/api/v1/messages?endpoint=immulite-2000&limit=50`, { headers })).json()) as Inbound).items;
    expect(stored.filter((m) => m.direction === 'inbound')).toEqual([expect.objectContaining({ messageType: 'ASTM', contentType: 'application/astm' })]);
    expect((await fetch(`${hub.url}/api/v1/messages/${stored.find((m) => m.direction === 'inbound')!.id}?includeBody=true`, { headers })).status).toBe(200);
    // The EMR was asked with the MRN in a form body, never in a URL.
    expect(fhir.requests.filter((r) => r.path.includes(CANARY_MRN))).toEqual([]);
  });

  test('LIS ORU^R01 over MLLP -> Observations at the EMR', async () => {
    await sendHl7(oru('LIS-0001', 'ACC-2001'));
    await waitFor('3 Observations of ACC-2001', () => ofSpecimen('ACC-2001').length === 3, 20_000, hub);
    const p4 = ofSpecimen('ACC-2001').find((o) => o.code.coding[0]!.code === '2839-9')!;
    expect(p4.valueQuantity).toMatchObject({ value: 0.5, comparator: '<', code: 'ng/mL' });
    expect(ofSpecimen('ACC-2001').find((o) => o.code.coding[0]!.code === '21198-7')!.valueQuantity).toMatchObject({ code: 'm[IU]/mL' });
    expect(p4.subject).toEqual({ reference: `Patient/${patientId}` });
  });

  test('a result for an unknown patient waits in the unmatched-results work queue and is not sent to the EMR', async () => {
    await sendHl7(oru('LIS-0404', 'ACC-4040', 'UNKNOWN-MRN-404'));
    await waitFor('the result in unmatched-results', async () => (await depth('unmatched-results')) === 1, 20_000, hub);
    expect(ofSpecimen('ACC-4040')).toEqual([]);
    expect(fhir.requests.filter((r) => r.method === 'POST' && r.path === '/fhir/Observation' && r.body.includes('ACC-4040'))).toEqual([]);
  });

  test('an EMR outage of 30 s: every result is delivered once it returns, none twice', async () => {
    const before = observations().length;
    const requestsBefore = fhir.requests.length;
    fhir.failNext(Number.MAX_SAFE_INTEGER, 503);
    const outageStarted = Date.now();
    for (let i = 0; i < 3; i++) await play(sim, `immulite-outage-${i}`, immulite(`S26-30000${i}`, `2026120411000${i}`));
    for (let i = 0; i < 2; i++) await sendHl7(oru(`LIS-OUT-${i}`, `ACC-300${i}`, CANARY_MRN, `0.${i + 3}`));
    // Requests keep arriving (and failing) while the EMR is down: the queue retries.
    await waitFor('retries against the failing EMR', () => fhir.requests.slice(requestsBefore).filter((r) => r.path.startsWith('/fhir/')).length > 10, 20_000, hub);
    expect(observations().length).toBe(before);
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - outageStarted))));
    fhir.failNext(0, 503);

    const expected = 3 * 4 + 2 * 3;
    await waitFor(`${expected} new Observations`, () => observations().length === before + expected, 60_000, hub);
    await waitFor('lab-results drained', async () => (await depth('lab-results')) === 0, 20_000, hub);
    const stats = ((await (await fetch(`${hub.url}/api/v1/queues`, { headers })).json()) as Stats).items.find((q) => q.queue === 'lab-results');
    expect(stats?.dead).toBe(0);
    const all = observations();
    expect(all.length).toBe(before + expected);
    const ids = all.map((o) => `${o.identifier[0]!.system}|${o.identifier[0]!.value}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 0; i < 3; i++) expect(ofSpecimen(`S26-30000${i}`)).toHaveLength(4);
    for (let i = 0; i < 2; i++) expect(ofSpecimen(`ACC-300${i}`)).toHaveLength(3);
  }, 150_000);

  test('the lab flows are offered in the editor under Import -> Examples', async () => {
    const res = await fetch(`${hub.url}/library/examples/flows/ivf-interface-hub/`, { headers });
    expect(res.status).toBe(200);
    const names = ((await res.json()) as { fn?: string }[]).map((e) => e.fn);
    expect(names).toEqual(expect.arrayContaining(['hl7-intake', 'lab-orders', 'lab-results']));
    const example = await fetch(`${hub.url}/library/examples/flows/ivf-interface-hub/lab-results`, { headers });
    expect(((await example.json()) as FlowNode[]).map((n) => n.id)).toEqual(flowFile('lab-results.json').map((n) => n.id));
  });

  /** The analyzer asks for a specimen; the answer's O records as [specimen, test, O.<field>]. */
  async function askAnalyzer(label: string, specimen: string, at: string, field: number): Promise<(string | undefined)[][]> {
    const sent = sim.received.length;
    await play(sim, label, query(specimen, at));
    await sim.waitForReceived(sent + 1, 20_000);
    const answer = sim.received.slice(sent).map((r) => r.message).find((m) => m.records.some((r) => r.type === 'O'))!;
    const d = answer.delimiters;
    return answer.patients.flatMap((p) => p.orders.map((o) => o.record!)).map((o) => [fieldValue(o, 3, d), fieldValue(o, 5, d, 4), fieldValue(o, field, d)]);
  }

  test('an EMR order (ORM^O01) is kept pending, sent to the LIS, answers the analyzer host query, and is closed by its results', async () => {
    await sendHl7(orm('EMR-0001', 'S26-900001'));
    await waitFor('the order at the LIS', () => lisReceived.some((m) => m.includes('EMR-0001')), 20_000, hub);
    // O.26 report type Q: a query response.
    expect(await askAnalyzer('immulite-query', 'S26-900001', '20261204120000', 26)).toEqual([
      ['S26-900001', 'E2', 'Q'],
      ['S26-900001', 'HCG', 'Q'],
    ]);
    // A specimen nobody ordered: "no information".
    const n = sim.received.length;
    await play(sim, 'immulite-query-unknown', query('S26-404404', '20261204120100'));
    await sim.waitForReceived(n + 1, 20_000);
    const none = sim.received[n]!.message;
    expect(none.records.map((r) => r.type).join('')).toBe('HL');

    // The LIS results both ordered tests: the order is closed, and the analyzer asking again gets nothing to run.
    await sendHl7(oru('LIS-0900', 'S26-900001'));
    const closed = async (): Promise<boolean> => {
      const res = await fetch(`${hub.url}/api/v1/messages?endpoint=pending-orders&controlId=S26-900001&type=${encodeURIComponent('ORDER^CM')}`, { headers });
      return ((await res.json()) as { items: unknown[] }).items.length === 1;
    };
    await waitFor('the order of S26-900001 closed by its results', closed, 20_000, hub);
    // Read back from the hub's own record of its answer: in the same second the answer is byte-identical to the
    // "no information" above, and the simulator's link layer takes a repeated message for a retransmission.
    const answers = async (): Promise<{ id: string }[]> =>
      ((await (await fetch(`${hub.url}/api/v1/messages?endpoint=immulite-2000&direction=outbound&limit=50`, { headers })).json()) as { items: { id: string }[] }).items;
    const before = (await answers()).length;
    await play(sim, 'immulite-query-resulted', query('S26-900001', '20261204120200'));
    await waitFor('the answer to the third query', async () => (await answers()).length > before, 20_000, hub);
    const newest = (await answers())[0]!;
    const stored = (await (await fetch(`${hub.url}/api/v1/messages/${newest.id}?includeBody=true`, { headers })).json()) as { body: { data: string } };
    expect(stored.body.data.split('\r').filter(Boolean).map((r) => r[0]).join('')).toBe('HL');
  });

  test('an EMR order as FHIR ServiceRequests (signed order.placed on /in/emr/orders) reaches the LIS as an ORM^O01 and answers the analyzer host query', async () => {
    const lisBefore = lisReceived.length;
    const body = JSON.stringify({ id: 'evt-fhir-order-1', type: 'order.placed', occurredAt: '2026-12-04T07:00:00-05:00', data: monitoringOrderBundle('S26-900002') });
    const post = await fetch(`${hub.url}/in/emr/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-emr-signature': signWebhook(EMR_WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)) }, body });
    expect(post.status).toBe(202);
    const kept = async (): Promise<boolean> =>
      ((await (await fetch(`${hub.url}/api/v1/messages?endpoint=pending-orders&controlId=S26-900002`, { headers })).json()) as { items: unknown[] }).items.length > 0;
    await waitFor('the FHIR order kept pending', kept, 20_000, hub);
    // O.6 priority: the E2 request is stat.
    expect(await askAnalyzer('immulite-query-fhir', 'S26-900002', '20261204121000', 6)).toEqual([
      ['S26-900002', 'E2', 'S'],
      ['S26-900002', 'LH', 'S'],
    ]);
    await waitFor('the ORM at the LIS', () => lisReceived.slice(lisBefore).some((m) => m.includes('S26-900002')), 20_000, hub);
    const orm = parse(lisReceived.slice(lisBefore).find((m) => m.includes('S26-900002'))!);
    expect(ordersFromHl7(orm).orders).toEqual([expect.objectContaining({ specimenId: 'S26-900002', orderedCodes: ['2243-4', '10501-5'], priority: 'S', patient: expect.objectContaining({ id: CANARY_MRN }) })]);
  });
});

describe('lab results with the EMR not configured yet (npm start with nothing set)', () => {
  let hub: HubProcess | undefined;
  let fhir: FakeFhirServer | undefined;

  afterAll(async () => {
    await hub?.stop();
    await fhir?.close();
  });

  test('results wait in the embedded queue, then reach the EMR once the hub is restarted with it configured', async () => {
    const mllpPort = await freePort();
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: PASSWORD, HUB_MLLP_PORT: String(mllpPort) });
    const dataDir = hub.dataDir;
    const headers = { authorization: `Bearer ${await login(hub.url, 'admin', PASSWORD)}` };
    let conn: RawMllp | undefined;
    await waitFor('the MLLP listener', async () => {
      conn = await RawMllp.open(mllpPort).catch(() => undefined);
      return conn !== undefined;
    }, 10_000, hub);
    expect(msaOf(await conn!.request(oru('LIS-WAIT-1', 'ACC-5001'))).code).toBe('AA');
    conn!.close();
    type Stats = { items: { queue: string; ready: number; delayed: number; inFlight: number }[] };
    const labResults = async (url: string, h: Record<string, string>): Promise<number> => {
      const q = ((await (await fetch(`${url}/api/v1/queues`, { headers: h })).json()) as Stats).items.find((s) => s.queue === 'lab-results');
      return q ? q.ready + q.delayed + q.inFlight : -1;
    };
    await waitFor('the results waiting in lab-results', async () => (await labResults(hub!.url, headers)) === 1, 10_000, hub);
    expect(hub.output()).toContain('queue lab-results is held: waiting for configuration');
    expect((await hub.stop()).code).toBe(0);

    fhir = await startFakeFhirServer({ auth: 'bearer', staticToken: EMR_TOKEN });
    fhir.seed({ resourceType: 'Patient', identifier: [{ system: PATIENT_SYSTEM, value: CANARY_MRN }] });
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: PASSWORD, HUB_DATA_DIR: dataDir, HUB_MLLP_PORT: String(mllpPort), HUB_EMR_FHIR_URL: fhir.baseUrl, HUB_EMR_TOKEN: EMR_TOKEN });
    await waitFor('3 Observations at the EMR', () => fhir!.all('Observation').length === 3, 20_000, hub);
    const h2 = { authorization: `Bearer ${await login(hub.url, 'admin', PASSWORD)}` };
    await waitFor('lab-results drained', async () => (await labResults(hub!.url, h2)) === 0, 10_000, hub);
    expect(canariesIn(hub.output())).toEqual([]);
  }, 90_000);
});
