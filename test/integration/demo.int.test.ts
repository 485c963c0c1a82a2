import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_PATIENTS, UNREGISTERED_PATIENT } from '../sim/demo-messages';
import { freePort, login, ROOT, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';

/**
 * `npm run demo` (dist/test/sim/demo.js, `--fast`) as a child process
 * against the built hub with the reference flows, as a newcomer runs it:
 * once with the hub pointed at the demo's EMR (results delivered through an
 * outage, each Observation once), once with nothing configured (results
 * held). The test checks the demo's report against the hub's own API.
 */

const DEMO = join(ROOT, 'dist', 'test', 'sim', 'demo.js');
const PASSWORD = 'admin-password-for-demo-tests';

interface Summary {
  ok: boolean;
  settled: boolean;
  emrConfigured: boolean;
  emrReached: boolean;
  sent: Record<'astm' | 'qc' | 'oru' | 'siu' | 'dft', { attempted: number; acked: number }>;
  stored: Record<string, { expected: number; stored: number; missing: number; statuses: Record<string, number> }>;
  labMessages: number;
  observations: { expected: number; received: number; duplicates: number; injected: number } | null;
  queues: Record<string, { ready: number; delayed: number; inFlight: number; dead: number; waitingFor: string[] | null }>;
}
type Observation = { identifier: { system: string; value: string }[]; subject: { reference?: string; identifier?: { value: string } } };

async function runDemo(args: string[]): Promise<{ code: number | null; out: string; summary: Summary }> {
  const proc = spawn(process.execPath, [DEMO, '--fast', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HUB_ADMIN_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  const line = out.split('\n').find((l) => l.startsWith('{"demo"'));
  if (!line) throw new Error(`the demo printed no JSON summary (exit ${code}):\n${out}`);
  return { code, out, summary: JSON.parse(line) as Summary };
}

async function startHub(env: Record<string, string>): Promise<{ hub: HubProcess; mllpPort: number; astmPort: number; auth: Record<string, string> }> {
  const mllpPort = await freePort();
  const astmPort = await freePort();
  const hub = await startHubProcess({ HUB_ADMIN_PASSWORD: PASSWORD, HUB_MLLP_PORT: String(mllpPort), HUB_ASTM_PORT: String(astmPort), ...env }, 30_000);
  return { hub, mllpPort, astmPort, auth: { authorization: `Bearer ${await login(hub.url, 'admin', PASSWORD)}` } };
}

/** Inbound or outbound records of an endpoint, as the hub's API lists them (the hub is fresh: every record is the demo's). */
async function records(url: string, auth: Record<string, string>, endpoint: string, direction: string): Promise<{ status: string }[]> {
  const res = await fetch(`${url}/api/v1/messages?endpoint=${endpoint}&direction=${direction}&limit=500`, { headers: auth });
  return ((await res.json()) as { items: { status: string }[] }).items;
}

/** What the hub stored per endpoint must be what the demo says it sent and had acknowledged. */
async function expectStoredAsSent(url: string, auth: Record<string, string>, s: Summary): Promise<void> {
  for (const kind of ['astm', 'qc', 'oru', 'siu', 'dft'] as const) {
    expect([kind, s.sent[kind].acked]).toEqual([kind, s.sent[kind].attempted]);
    expect(s.sent[kind].acked).toBeGreaterThan(0);
  }
  for (const [endpoint, row] of Object.entries(s.stored)) expect([endpoint, row.missing, row.stored]).toEqual([endpoint, 0, row.expected]);
  const count = async (endpoint: string, direction = 'inbound'): Promise<number> => (await records(url, auth, endpoint, direction)).length;
  expect(await count('immulite-2000')).toBe(s.sent.astm.acked + s.sent.qc.acked);
  expect(await count('lab-qc')).toBe(s.sent.qc.acked);
  expect(await count('hl7-intake')).toBe(s.sent.oru.acked);
  expect(await count('emr-siu')).toBe(s.sent.siu.acked);
  expect(await count('emr-dft')).toBe(s.sent.dft.acked);
  expect(await count('emr-core', 'outbound')).toBe(s.labMessages);
  expect(s.labMessages).toBe(s.sent.astm.acked + s.sent.oru.acked);
}

/** The demo's patients are synthetic, but the hub must treat them as PHI all the same. */
function patientDataIn(text: string): string[] {
  return [...DEMO_PATIENTS, UNREGISTERED_PATIENT].flatMap((p) => [p.mrn, p.name, p.name.split('^')[1]!, p.phone]).filter((v) => text.includes(v));
}

describe('npm run demo against the built hub', () => {
  let hub: HubProcess | undefined;

  afterEach(async () => {
    const exit = await hub?.stop();
    if (exit) expect(exit.code).toBe(0);
    hub = undefined;
  });

  test('with the hub pointed at the demo EMR: every message stored, every Observation delivered once despite the outage', async () => {
    const emrPort = await freePort();
    const started = await startHub({ HUB_EMR_FHIR_URL: `http://127.0.0.1:${emrPort}/fhir`, HUB_EMR_TOKEN: 'demo-emr-token' });
    hub = started.hub;
    const dump = join(mkdtempSync(join(tmpdir(), 'demo-test-')), 'observations.json');
    const { code, out, summary } = await runDemo(['--hub', hub.url, '--mllp-port', String(started.mllpPort), '--astm-port', String(started.astmPort), '--emr-port', String(emrPort), '--emr-dump', dump]);

    expect([code, summary.ok, summary.settled]).toEqual([0, true, true]);
    expect(out).toContain(`start the hub with HUB_EMR_FHIR_URL=http://127.0.0.1:${emrPort}/fhir`);
    expect(out).toMatch(/EMR outage: the demo EMR answers 503/);
    expect(out).toMatch(/\[\d+:\d\d\] sent so far: /);
    expect([summary.emrConfigured, summary.emrReached]).toEqual([true, true]);
    await expectStoredAsSent(hub.url, started.auth, summary);

    // The outage was real: the hub's requests were refused while it lasted, and it kept retrying.
    expect(summary.observations!.injected).toBeGreaterThan(0);
    const observations = JSON.parse(readFileSync(dump, 'utf8')) as Observation[];
    const ids = observations.map((o) => `${o.identifier[0]!.system}|${o.identifier[0]!.value}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(observations.length).toBe(summary.observations!.expected);
    expect(summary.observations).toMatchObject({ received: observations.length, duplicates: 0 });
    // Bound to the seeded patients; the unregistered patient's result never reached the chart.
    expect(observations.every((o) => /^Patient\/\d+$/.test(o.subject.reference ?? ''))).toBe(true);
    expect(JSON.stringify(observations)).not.toContain(UNREGISTERED_PATIENT.mrn);

    // Every result left for the EMR, except the unregistered patient's, which waits in the work queue.
    const toEmr = await records(hub.url, started.auth, 'emr-core', 'outbound');
    expect(toEmr.filter((m) => m.status === 'sent')).toHaveLength(summary.labMessages - 1);
    expect(summary.queues['unmatched-results']).toMatchObject({ dead: 0 });
    expect(summary.queues['unmatched-results']!.ready + summary.queues['unmatched-results']!.delayed + summary.queues['unmatched-results']!.inFlight).toBe(1);
    expect(summary.queues['lab-results']).toMatchObject({ ready: 0, delayed: 0, inFlight: 0, dead: 0 });

    // The demo's token is revoked at the end.
    const tokens = ((await (await fetch(`${hub.url}/api/v1/tokens`, { headers: started.auth })).json()) as { items: { name: string; revokedAt: string | null }[] }).items;
    expect(tokens.filter((t) => t.name.startsWith('demo '))).toEqual([expect.objectContaining({ revokedAt: expect.any(String) })]);
    // Neither the hub's log nor the demo's output carries patient data.
    expect(patientDataIn(hub.output())).toEqual([]);
    expect(patientDataIn(out)).toEqual([]);
  }, 180_000);

  test('with nothing configured (npm start, then npm run demo): every message stored, the results held in lab-results', async () => {
    const started = await startHub({});
    hub = started.hub;
    const emrPort = await freePort();
    const { code, out, summary } = await runDemo(['--hub', hub.url, '--mllp-port', String(started.mllpPort), '--astm-port', String(started.astmPort), '--emr-port', String(emrPort)]);

    expect([code, summary.ok, summary.settled]).toEqual([0, true, true]);
    expect(out).toContain('waiting for configuration');
    expect(out).not.toMatch(/EMR outage:/);
    expect([summary.emrConfigured, summary.emrReached, summary.observations]).toEqual([false, false, null]);
    await expectStoredAsSent(hub.url, started.auth, summary);
    expect(summary.queues['lab-results']).toMatchObject({ ready: summary.labMessages, dead: 0, waitingFor: ['HUB_EMR_FHIR_URL', 'HUB_EMR_TOKEN'] });
    expect(summary.stored['emr-core']!.statuses).toEqual({ queued: summary.labMessages });
    expect(patientDataIn(hub.output())).toEqual([]);
  }, 180_000);
});
