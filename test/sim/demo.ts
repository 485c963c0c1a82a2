/**
 * `npm run demo`: a clinic morning played against a running hub, to watch in
 * /monitor. Two IMMULITE-style analyzers send their QC and then cycle-
 * monitoring results (E2, LH, P4, beta-hCG) over ASTM; the LIS sends ORU^R01
 * over MLLP (one of them for a patient the EMR does not know yet); the EMR
 * books, moves and cancels appointments (SIU) and posts charges (DFT^P03)
 * through the http-in endpoints. The demo runs its own EMR (a loopback FHIR
 * server seeded with the demo patients and their treatment cycles) and, when
 * the hub sends results to it, takes it down for a while in the middle.
 * At the end it compares what it sent with what the hub stored and exits
 * non-zero if anything acknowledged is missing.
 *
 *   npm run demo                                   (hub on 127.0.0.1:1880, ~2 minutes)
 *   npm run demo -- --minutes 5 --emr-port 8091
 *
 * Options (flags, or the environment): --hub URL (HUB_URL, default
 * http://127.0.0.1:1880), --mllp-port (HUB_MLLP_PORT, 2575), --astm-port
 * (HUB_ASTM_PORT, 2576), --emr-port (HUB_DEMO_EMR_PORT, 8090), --minutes N
 * (2), --outage-seconds N (25), --fast (a short run for tests), --seed N,
 * --progress-seconds N (60), --settle-seconds N (120), --screenshot FILE
 * (a PNG of /monitor during the outage), --emr-dump FILE (the Observations
 * the demo EMR received, as JSON). Credentials: HUB_ADMIN_PASSWORD, or
 * `<HUB_DATA_DIR or ./data>/admin-password.txt`.
 */
import { writeFileSync } from 'node:fs';
import { MllpClient } from '../../adapters/mllp';
import { startFakeFhirServer } from '../support/fake-fhir-server';
import type { FakeFhirServer } from '../support/fake-fhir-server';
import { AnalyzerSimulator } from './analyzer-simulator';
import { adminPassword, DemoHub, DemoSetupError, held } from './demo-hub';
import type { QueueDepth, StoredMessage } from './demo-hub';
import type { MonitorCamera } from './demo-screenshot';
import { analyzerPanel, DEMO_PATIENTS, emrDft, emrSiu, immuliteQc, immuliteResults, lisOru, PATIENT_ID_SYSTEM, rng, UNREGISTERED_PATIENT } from './demo-messages';
import type { DemoPatient } from './demo-messages';
import { recordsPlayback } from './playback';

export interface DemoOptions {
  hubUrl: string;
  mllpPort: number;
  astmPort: number;
  emrPort: number;
  minutes: number;
  outageSeconds: number;
  progressSeconds: number;
  settleSeconds: number;
  seed: number;
  screenshot: string | undefined;
  emrDump: string | undefined;
}

/** The store endpoints of the reference flows (flows/*.json) the demo's messages land on. */
const ENDPOINTS = { analyzers: 'immulite-2000', qc: 'lab-qc', lis: 'hl7-intake', siu: 'emr-siu', dft: 'emr-dft', toEmr: 'emr-core' } as const;
/** Per minute of demo: a mid-size clinic's morning, compressed. */
const PER_MINUTE = { analyzer1: 6, analyzer2: 5, lis: 4, siu: 3, dft: 2 };
export const DEMO_EMR_TOKEN = 'demo-emr-token';

type Kind = 'astm' | 'qc' | 'oru' | 'siu' | 'dft';
const SHORT_LABELS: Record<Kind, string> = { astm: 'analyzer results', qc: 'QC runs', oru: 'LIS ORU', siu: 'SIU', dft: 'DFT' };
const KIND_LABELS: Record<Kind, string> = {
  astm: 'analyzer results (ASTM)',
  qc: 'analyzer QC runs (ASTM)',
  oru: 'LIS results (ORU^R01, MLLP)',
  siu: 'appointments (SIU, http)',
  dft: 'charges (DFT^P03, http)',
};

interface Tally {
  attempted: number;
  acked: number;
  /** Control ids (HL7, ASTM H.3) or hub message ids (http 202) of what was acknowledged. */
  keys: string[];
}

interface DemoEvent {
  atMs: number;
  kind: Kind;
  /** The sender: each sends one message at a time over its own connection. */
  lane: string;
  /** Sends; resolves with the key of the acknowledged message, or null when it was not acknowledged. */
  send: () => Promise<string | null>;
  /** Lab messages only: Observations the EMR should receive (0 for an unknown patient). */
  observations?: number;
  note?: string;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): DemoOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number, envName?: string): number => {
    const text = get(name) ?? (envName ? env[envName] : undefined);
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new DemoSetupError(`--${name} must be a non-negative number`);
    return n;
  };
  const fast = argv.includes('--fast');
  return {
    hubUrl: (get('hub') ?? env.HUB_URL ?? 'http://127.0.0.1:1880').replace(/\/+$/, ''),
    mllpPort: num('mllp-port', 2575, 'HUB_MLLP_PORT'),
    astmPort: num('astm-port', 2576, 'HUB_ASTM_PORT'),
    emrPort: num('emr-port', 8090, 'HUB_DEMO_EMR_PORT'),
    minutes: num('minutes', fast ? 0.25 : 2),
    outageSeconds: num('outage-seconds', fast ? 8 : 25),
    progressSeconds: num('progress-seconds', fast ? 5 : 60),
    settleSeconds: num('settle-seconds', fast ? 90 : 120),
    seed: num('seed', 20261204),
    screenshot: get('screenshot'),
    emrDump: get('emr-dump'),
  };
}

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const clock = (ms: number): string => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

/** The demo EMR: the loopback FHIR server on a fixed port, with the demo patients and one active treatment cycle each. */
async function startDemoEmr(port: number): Promise<FakeFhirServer> {
  let emr: FakeFhirServer;
  try {
    // Any bearer token is accepted: the demo cannot know which HUB_EMR_TOKEN the hub was started with.
    emr = await startFakeFhirServer({ auth: 'none', port });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new DemoSetupError(`the demo EMR could not listen on 127.0.0.1:${port} (${code ?? 'error'}): pass --emr-port with a free port`);
  }
  for (const p of DEMO_PATIENTS) {
    const [family, given] = p.name.split('^');
    const patient = emr.seed({ resourceType: 'Patient', identifier: [{ system: PATIENT_ID_SYSTEM, value: p.mrn }], name: [{ family, given: [given] }], gender: 'female' });
    emr.seed({ resourceType: 'EpisodeOfCare', status: 'active', type: [{ text: 'IVF treatment cycle' }], patient: { reference: `Patient/${patient.id}` } });
  }
  return emr;
}

/** Builds the morning: when each channel sends what. */
function planMorning(o: DemoOptions, runId: string, io: { analyzers: [AnalyzerSimulator, AnalyzerSimulator]; mllp: MllpClient; hub: DemoHub }): DemoEvent[] {
  const random = rng(o.seed);
  const durationMs = o.minutes * 60_000;
  const count = (perMinute: number, min: number): number => Math.max(min, Math.round(perMinute * o.minutes));
  /** n moments spread over the run, each jittered within its slot. */
  const spread = (n: number, offsetMs = 0): number[] => Array.from({ length: n }, (_, i) => offsetMs + ((i + 0.2 + random() * 0.6) / n) * durationMs);
  const events: DemoEvent[] = [];
  let seq = 0;
  const nextId = (prefix: string): string => `${prefix}-${runId}-${String(++seq).padStart(3, '0')}`;
  const pick = (list: readonly DemoPatient[]): DemoPatient => list[Math.floor(random() * list.length)]!;

  // Message texts are built when sent, so their timestamps are the time of sending; the values are drawn now, so a seed repeats a run.
  const analyzerSend = (sim: AnalyzerSimulator, name: string, text: (at: Date) => string) => async (): Promise<string | null> =>
    (await sim.play(recordsPlayback(name, text(new Date())))).ok ? name : null;
  const serials = ['IML2K-01', 'IML2K-02'] as const;
  serials.forEach((serial, a) => {
    const sim = io.analyzers[a]!;
    // The morning starts with QC: two control levels before any patient sample.
    const qcId = nextId(`QC${a + 1}`);
    const levels = { level1: `${Math.round(200 + random() * 30)}.`, level2: `${Math.round(900 + random() * 80)}.` };
    events.push({ atMs: 0, kind: 'qc', lane: serial, send: analyzerSend(sim, qcId, (at) => immuliteQc({ controlId: qcId, serial, at, ...levels })), note: `analyzer ${a + 1}: QC run` });
    const n = count(a === 0 ? PER_MINUTE.analyzer1 : PER_MINUTE.analyzer2, 3);
    // Analyzer 1 runs stimulation monitoring; analyzer 2 also the beta-hCG pregnancy tests.
    const patients = a === 0 ? DEMO_PATIENTS.slice(0, 5) : DEMO_PATIENTS.slice(3);
    for (const at of spread(n, 2_000)) {
      const id = nextId(`AN${a + 1}`);
      const tests = analyzerPanel(a === 1 && random() < 0.5 ? 'pregnancy' : 'monitoring', random);
      const patient = pick(patients);
      events.push({ atMs: at, kind: 'astm', lane: serial, send: analyzerSend(sim, id, (now) => immuliteResults({ controlId: id, patient, specimen: `S-${id}`, tests, serial, at: now })), observations: tests.length });
    }
  });

  const lisTimes = spread(count(PER_MINUTE.lis, 2) + 1, 1_000);
  const unknownAt = Math.floor(lisTimes.length / 2);
  lisTimes.forEach((at, i) => {
    const id = nextId('LIS');
    const patient = i === unknownAt ? UNREGISTERED_PATIENT : pick(DEMO_PATIENTS);
    const values = Math.floor(random() * 0x1_0000_0000);
    const oru = (now: Date): ReturnType<typeof lisOru> => lisOru({ controlId: id, patient, accession: `ACC-${id}`, at: now, random: rng(values) });
    events.push({
      atMs: at,
      kind: 'oru',
      lane: 'lis',
      observations: patient.registered ? oru(new Date()).observations : 0,
      note: patient.registered ? undefined : 'LIS: a result for a patient the EMR does not know yet (watch queue unmatched-results)',
      send: async () => {
        const text = oru(new Date()).text;
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            const ack = (await io.mllp.send(text, { timeoutMs: 15_000 })).toString('latin1');
            const msa = ack.split('\r').find((s) => s.startsWith('MSA|'))?.split('|') ?? [];
            if ((msa[1] === 'AA' || msa[1] === 'CA') && msa[2] === id) return id;
          } catch {
            // A lost connection: send the same message again, as an LIS does (the hub drops the duplicate).
          }
          await sleep(1_000);
        }
        return null;
      },
    });
  });

  const post = (path: string, message: (at: Date) => string) => async (): Promise<string | null> => {
    const text = message(new Date());
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await io.hub.postIn(path, text).catch(() => ({ status: 0, id: null }));
      if (res.status === 202) return res.id ?? 'accepted';
      if (res.status !== 0 && res.status !== 503) return null;
      await sleep(1_000);
    }
    return null;
  };
  // Appointments: bookings for tomorrow's monitoring scans, then one moved and one cancelled.
  const nSiu = count(PER_MINUTE.siu, 3);
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(8, 0, 0, 0);
  const bookings = Array.from({ length: nSiu - 2 }, (_, i) => ({ appointment: nextId('APPT'), patient: DEMO_PATIENTS[i % DEMO_PATIENTS.length]!, start: new Date(tomorrow.getTime() + i * 15 * 60_000) }));
  const siu: { trigger: 'S12' | 'S14' | 'S15'; b: (typeof bookings)[number]; start: Date }[] = [
    ...bookings.map((b) => ({ trigger: 'S12' as const, b, start: b.start })),
    { trigger: 'S14', b: bookings[0]!, start: new Date(bookings[0]!.start.getTime() + 2 * 3_600_000) },
    { trigger: 'S15', b: bookings[bookings.length - 1]!, start: bookings[bookings.length - 1]!.start },
  ];
  const siuTimes = spread(siu.length, 500);
  siu.forEach((s, i) => {
    const controlId = nextId('SIU');
    events.push({ atMs: siuTimes[i]!, kind: 'siu', lane: 'emr', send: post('/in/appointments/siu', (at) => emrSiu({ controlId, trigger: s.trigger, appointment: s.b.appointment, patient: s.b.patient, start: s.start, at })) });
  });
  for (const at of spread(count(PER_MINUTE.dft, 1), 1_500)) {
    const id = nextId('DFT');
    const patient = pick(DEMO_PATIENTS);
    events.push({ atMs: at, kind: 'dft', lane: 'emr', send: post('/in/billing/dft', (now) => emrDft({ controlId: id, patient, account: `ACCT-${patient.mrn}`, visit: `VISIT-${id}`, at: now })) });
  }
  return events.sort((x, y) => x.atMs - y.atMs);
}

interface Row {
  kind: string;
  endpoint: string;
  sent: number;
  stored: number;
  missing: number;
  statuses: Record<string, number>;
}

const byStatus = (items: StoredMessage[]): Record<string, number> => items.reduce<Record<string, number>>((acc, m) => ({ ...acc, [m.status]: (acc[m.status] ?? 0) + 1 }), {});

/** Stored vs acknowledged for one kind: by key where the store keeps it (control id or message id), else by count. */
function compare(kind: string, endpoint: string, tally: Tally, stored: StoredMessage[]): Row {
  const keys = new Set(stored.flatMap((m) => [m.id, m.controlId ?? '']));
  const byKey = tally.keys.every((k) => k !== 'accepted') && tally.keys.some((k) => keys.has(k));
  const ours = byKey ? stored.filter((m) => tally.keys.includes(m.id) || tally.keys.includes(m.controlId ?? '')) : stored;
  const missing = byKey ? tally.keys.filter((k) => !keys.has(k)).length : Math.max(0, tally.acked - stored.length);
  return { kind, endpoint, sent: tally.acked, stored: ours.length, missing, statuses: byStatus(ours) };
}

function printTable(rows: Row[], emrRow: { expected: number; received: number; duplicates: number; injected: number } | null, queues: QueueDepth[]): void {
  const pad = (s: string | number, n: number): string => String(s).padEnd(n);
  const num = (s: string | number, n: number): string => String(s).padStart(n);
  say('');
  say(`${pad('kind', 32)}${pad('hub endpoint', 16)}${num('sent+acked', 11)}${num('stored', 8)}${num('missing', 9)}  status in the hub`);
  for (const r of rows) {
    const st = Object.entries(r.statuses).map(([k, v]) => `${k} ${v}`).join(', ');
    say(`${pad(r.kind, 32)}${pad(r.endpoint, 16)}${num(r.sent, 11)}${num(r.stored, 8)}${num(r.missing, 9)}  ${st}`);
  }
  if (emrRow) {
    say(`${pad('Observations at the demo EMR', 32)}${pad('(FHIR)', 16)}${num(emrRow.expected, 11)}${num(emrRow.received, 8)}${num(Math.max(0, emrRow.expected - emrRow.received), 9)}  duplicates ${emrRow.duplicates}; 503s answered during the outage ${emrRow.injected}`);
  }
  say('');
  say(`${pad('queue', 22)}${num('ready', 7)}${num('delayed', 9)}${num('inFlight', 10)}${num('dead', 6)}  waiting for`);
  for (const q of queues) say(`${pad(q.queue, 22)}${num(q.ready, 7)}${num(q.delayed, 9)}${num(q.inFlight, 10)}${num(q.dead, 6)}  ${q.waitingFor ? q.waitingFor.join(' ') : '-'}`);
  say('');
}

/** The hub's listeners bind just after it reports ready: a demo started together with the hub tries for a few seconds. */
async function retryConnect(connect: () => Promise<void>, what: string, hint: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await connect();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new DemoSetupError(`${what} (${(err as { code?: string }).code ?? 'error'}): ${hint}`);
      await sleep(500);
    }
  }
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const startedAt = new Date(Date.now() - 1_000);
  const runId = startedAt.toISOString().replace(/\D/g, '').slice(4, 14);
  const hubHost = new URL(o.hubUrl).hostname;
  const emrUrl = `http://127.0.0.1:${o.emrPort}/fhir`;
  const hub = new DemoHub(o.hubUrl);
  const password = adminPassword(process.env);
  await hub.connect(password);
  let emr: FakeFhirServer | undefined;
  const analyzers: AnalyzerSimulator[] = [];
  let mllp: MllpClient | undefined;
  let camera: MonitorCamera | undefined;
  let shot = false;
  const shoot = async (): Promise<void> => {
    if (!camera || shot || !o.screenshot) return;
    shot = true;
    await camera.shoot(o.screenshot).then(
      () => say(`monitor screenshot: ${o.screenshot}`),
      (err: Error) => say(`monitor screenshot failed: ${err.message}`),
    );
  };
  const interrupted = (): void => {
    say('\ninterrupted: revoking the demo token');
    void hub.disconnect().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    emr = await startDemoEmr(o.emrPort);
    say(`demo EMR (FHIR R4) on ${emrUrl}, seeded with ${DEMO_PATIENTS.length} demo patients and their active treatment cycles`);
    say(`for results to reach the demo EMR, start the hub with HUB_EMR_FHIR_URL=${emrUrl} HUB_EMR_TOKEN=${DEMO_EMR_TOKEN} (otherwise they wait in the lab-results queue, shown in /monitor as waiting for configuration)`);
    const labQueue = (await hub.queues()).find((q) => q.queue === 'lab-results');
    const emrConfigured = labQueue !== undefined && labQueue.waitingFor === null;
    say(
      emrConfigured
        ? `the hub delivers lab results to an EMR: the demo EMR will answer 503 for ${o.outageSeconds} s in the middle of the run`
        : `the hub's lab-results queue waits for ${labQueue?.waitingFor?.join(', ') ?? 'configuration'}: results will be held, no EMR outage is played`,
    );

    for (const name of ['analyzer 1', 'analyzer 2']) {
      const sim = new AnalyzerSimulator({ host: hubHost, port: o.astmPort, retryDelayMs: 500 });
      await retryConnect(() => sim.start(), `${name}: no ASTM listener at ${hubHost}:${o.astmPort}`, 'is the lab-results flow deployed? pass --astm-port');
      analyzers.push(sim);
    }
    const lis = new MllpClient({ host: hubHost, port: o.mllpPort, timeoutMs: 15_000, reconnect: false });
    mllp = lis;
    await retryConnect(() => lis.connect(), `LIS: no MLLP listener at ${hubHost}:${o.mllpPort}`, 'is the hl7-intake flow deployed? pass --mllp-port');
    if (o.screenshot) camera = await (await import('./demo-screenshot')).MonitorCamera.open(o.hubUrl, password);

    const events = planMorning(o, runId, { analyzers: [analyzers[0]!, analyzers[1]!], mllp, hub });
    const tallies = Object.fromEntries((Object.keys(KIND_LABELS) as Kind[]).map((k) => [k, { attempted: 0, acked: 0, keys: [] } as Tally])) as Record<Kind, Tally>;
    let expectedObservations = 0;
    let labMessages = 0;
    const durationMs = o.minutes * 60_000;
    const outageStartMs = Math.round(durationMs * 0.35);
    let emrDown = false;
    say(`playing ${events.length} messages over ${clock(durationMs)} (run ${runId}); watch ${o.hubUrl}/monitor`);
    const t0 = Date.now();
    const elapsed = (): number => Date.now() - t0;
    const sentLine = (): string => (Object.keys(KIND_LABELS) as Kind[]).map((k) => `${SHORT_LABELS[k]} ${tallies[k].acked}`).join(', ');

    const progress = setInterval(() => say(`[${clock(elapsed())}] sent so far: ${sentLine()}${emrConfigured ? ` | demo EMR ${emrDown ? 'DOWN' : 'up'}, Observations received ${emr!.all('Observation').length}` : ''}`), Math.max(1, o.progressSeconds) * 1000);
    const outage = (async () => {
      if (!emrConfigured || o.outageSeconds <= 0) return;
      await sleep(outageStartMs - elapsed());
      emrDown = true;
      emr!.failNext(Number.MAX_SAFE_INTEGER, 503);
      say(`[${clock(elapsed())}] EMR outage: the demo EMR answers 503 for ${o.outageSeconds} s; results wait in the lab-results queue and are retried`);
      const shotAt = Date.now() + Math.max(0, o.outageSeconds * 1000 - 3_000);
      if (camera) {
        await sleep(shotAt - Date.now());
        await shoot();
      }
      await sleep(outageStartMs + o.outageSeconds * 1000 - elapsed());
      emr!.failNext(0, 503);
      emrDown = false;
      say(`[${clock(elapsed())}] the EMR is back: the held results drain`);
    })();

    const lanes = new Map<string, DemoEvent[]>();
    for (const e of events) lanes.set(e.lane, [...(lanes.get(e.lane) ?? []), e]);
    await Promise.all(
      [...lanes.values()].map(async (lane) => {
        for (const e of lane) {
          await sleep(e.atMs - elapsed());
          tallies[e.kind].attempted++;
          if (e.note) say(`[${clock(elapsed())}] ${e.note}`);
          const key = await e.send().catch(() => null);
          if (key === null) {
            say(`[${clock(elapsed())}] not acknowledged: one ${KIND_LABELS[e.kind]} message (the demo counts it as not sent)`);
            continue;
          }
          tallies[e.kind].acked++;
          tallies[e.kind].keys.push(key);
          if (e.observations !== undefined) {
            labMessages++;
            expectedObservations += e.observations;
          }
        }
      }),
    );
    await outage;
    clearInterval(progress);
    say(`[${clock(elapsed())}] all sent: ${sentLine()}; waiting for the hub to settle`);
    await shoot();

    // Settle: with an EMR, until the lab-results queue is empty (and the demo EMR has every Observation, if it is the one);
    // without, until the results are held in the queue.
    const settleDeadline = Date.now() + o.settleSeconds * 1000;
    const emrReached = (): boolean => emr!.requests.some((r) => r.path.startsWith('/fhir/'));
    const uniqueObservations = (): number => new Set(emr!.all('Observation').map((r) => JSON.stringify((r.identifier ?? [])[0] ?? r.id))).size;
    let queues = await hub.queues();
    let settled = false;
    while (Date.now() < settleDeadline) {
      queues = await hub.queues();
      const lab = queues.find((q) => q.queue === 'lab-results');
      const toEmr = await hub.messages({ endpoint: ENDPOINTS.toEmr, direction: 'outbound', from: startedAt });
      settled = emrConfigured
        ? held(lab) === 0 && (!emrReached() || uniqueObservations() >= expectedObservations)
        : toEmr.length >= labMessages && held(lab) >= labMessages;
      if (settled) break;
      await sleep(1_000);
    }
    if (!settled) say(`the hub did not settle within ${o.settleSeconds} s; reporting what it holds now`);

    const stored = async (endpoint: string): Promise<StoredMessage[]> => hub.messages({ endpoint, direction: 'inbound', from: startedAt });
    const analyzerMsgs = await stored(ENDPOINTS.analyzers);
    const qcRecords = await stored(ENDPOINTS.qc);
    const lisMsgs = await stored(ENDPOINTS.lis);
    const toEmr = await hub.messages({ endpoint: ENDPOINTS.toEmr, direction: 'outbound', from: startedAt });
    const combined: Tally = { attempted: tallies.astm.attempted + tallies.qc.attempted, acked: tallies.astm.acked + tallies.qc.acked, keys: [...tallies.astm.keys, ...tallies.qc.keys] };
    const rows: Row[] = [
      compare(`${KIND_LABELS.astm} + QC`, ENDPOINTS.analyzers, combined, analyzerMsgs),
      { kind: '  QC kept apart (never charted)', endpoint: ENDPOINTS.qc, sent: tallies.qc.acked, stored: qcRecords.length, missing: Math.max(0, tallies.qc.acked - qcRecords.length), statuses: byStatus(qcRecords) },
      compare(KIND_LABELS.oru, ENDPOINTS.lis, tallies.oru, lisMsgs),
      compare(KIND_LABELS.siu, ENDPOINTS.siu, tallies.siu, await stored(ENDPOINTS.siu)),
      compare(KIND_LABELS.dft, ENDPOINTS.dft, tallies.dft, await stored(ENDPOINTS.dft)),
      { kind: 'results for the EMR (FHIR)', endpoint: ENDPOINTS.toEmr, sent: labMessages, stored: toEmr.length, missing: Math.max(0, labMessages - toEmr.length), statuses: byStatus(toEmr) },
    ];
    const observations = emr.all('Observation');
    const emrRow = emrReached() ? { expected: expectedObservations, received: uniqueObservations(), duplicates: observations.length - uniqueObservations(), injected: emr.injectedFailures() } : null;
    printTable(rows, emrRow, queues);
    if (o.emrDump) writeFileSync(o.emrDump, JSON.stringify(observations, null, 1));

    const missing = rows.reduce((n, r) => n + r.missing, 0);
    const emrProblem = emrRow !== null && (emrRow.received !== emrRow.expected || emrRow.duplicates > 0);
    const ok = missing === 0 && !emrProblem;
    const summary = {
      demo: 'ivf-hub',
      run: runId,
      ok,
      settled,
      emrConfigured,
      emrReached: emrReached(),
      sent: Object.fromEntries((Object.keys(KIND_LABELS) as Kind[]).map((k) => [k, { attempted: tallies[k].attempted, acked: tallies[k].acked }])),
      stored: Object.fromEntries(rows.map((r) => [r.endpoint, { expected: r.sent, stored: r.stored, missing: r.missing, statuses: r.statuses }])),
      labMessages,
      observations: emrRow,
      queues: Object.fromEntries(queues.map((q) => [q.queue, { ready: q.ready, delayed: q.delayed, inFlight: q.inFlight, dead: q.dead, waitingFor: q.waitingFor }])),
    };
    say(JSON.stringify(summary));
    if (missing > 0) say(`${missing} acknowledged message(s) missing from the hub's store`);
    if (emrProblem) say(`the demo EMR received ${emrRow!.received} of ${emrRow!.expected} Observations (${emrRow!.duplicates} duplicates)`);
    say(ok ? 'nothing acknowledged was lost' : 'FAILED: see above');
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', interrupted);
    await camera?.close();
    await mllp?.close().catch(() => undefined);
    for (const a of analyzers) await a.close().catch(() => undefined);
    await hub.disconnect();
    await emr?.close();
  }
}

if (require.main === module) {
  let options: DemoOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    say(`demo: ${(err as Error).message}`);
    process.exit(2);
  }
  runDemo(options).then(
    (code) => process.exit(code),
    (err: unknown) => {
      say(`demo: ${err instanceof DemoSetupError ? err.message : `failed: ${(err as Error).stack ?? String(err)}`}`);
      process.exit(2);
    },
  );
}
