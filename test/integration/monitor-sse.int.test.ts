import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { createToken, login } from '../support/hub-process';
import { endpointOf, PASSWORDS, sendMllp, SseClient, startMonitorHub } from '../e2e/monitor-support';
import type { MonitorHub } from '../e2e/monitor-support';

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const received = (s: Parameters<typeof endpointOf>[0], name: string): number => endpointOf(s, name)?.lastHour.received ?? 0;

describe('monitor live overview (server-sent events) on the built hub', () => {
  let hub: MonitorHub;
  let admin: string;
  let viewer: string;
  let intakeBot: string;

  beforeAll(async () => {
    hub = await startMonitorHub();
    admin = await login(hub.url, 'admin', PASSWORDS.admin);
    viewer = await login(hub.url, 'vic', PASSWORDS.vic);
    intakeBot = await createToken(hub.url, admin, 'intake-bot', 'operator');
  });
  afterAll(async () => {
    await hub?.stop();
  });

  test('the stream and the one-shot snapshot require a valid token', async () => {
    expect((await fetch(`${hub.url}/api/v1/monitor/events`)).status).toBe(401);
    expect((await fetch(`${hub.url}/api/v1/monitor/events`, { headers: auth('hub_not-a-real-token') })).status).toBe(401);
    expect((await fetch(`${hub.url}/api/v1/monitor/events`, { headers: { cookie: 'hub_session=hub_forged' } })).status).toBe(401);
    expect((await fetch(`${hub.url}/api/v1/monitor/snapshot`)).status).toBe(401);
  });

  test('snapshots arrive every second and their counts follow messages sent over HTTP and MLLP, with no PHI in them', async () => {
    const sse = new SseClient(`${hub.url}/api/v1/monitor/events`, auth(viewer));
    try {
      expect(await sse.status).toBe(200);
      const first = await sse.waitForSnapshot(() => true);
      expect(first.flows.map((f) => f.label)).toEqual(expect.arrayContaining(['HTTP intake', 'HL7 intake']));
      const before = { http: received(first, 'http-intake'), hl7: received(first, 'hl7-intake') };

      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${hub.url}/in/messages`, { method: 'POST', headers: { ...auth(intakeBot), 'content-type': 'text/plain' }, body: canaryOru(`SSE-HTTP-${i}`) });
        expect(res.status).toBe(202);
      }
      expect(await sendMllp(hub.mllpPort, [canaryOru('SSE-MLLP-1'), canaryOru('SSE-MLLP-2')])).toEqual(['AA', 'AA']);

      const after = await sse.waitForSnapshot((s) => s.seq > first.seq && received(s, 'http-intake') >= before.http + 3 && received(s, 'hl7-intake') >= before.hl7 + 2);
      const hl7 = endpointOf(after, 'hl7-intake')!;
      expect(hl7).toMatchObject({ kind: 'mllp-listener', state: 'listening', direction: 'inbound', port: hub.mllpPort });
      expect(hl7.types).toContain('ORU^R01');
      expect(hl7.lastMessageAt).not.toBeNull();
      expect(hl7.spark.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
      expect(hl7.flows.map((f) => f.label)).toEqual(['HL7 intake']);
      expect(endpointOf(after, 'http-intake')).toMatchObject({ kind: 'store-record', state: 'listening' });
      expect(after.totals.lastHour.received).toBeGreaterThanOrEqual(5);
      expect(after.series.received.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5);
      expect(after.series.received).toHaveLength(360);
      // Unconfigured, the reference flows' destination queues are listed as waiting for configuration.
      expect(after.queues?.find((q) => q.queue === 'stripe-payments')).toMatchObject({ backend: 'embedded', dead: 0, waitingFor: ['HUB_STRIPE_API_KEY'] });

      // The snapshots name endpoints, counts and types only: no patient data, no control ids, no patient keys.
      const wire = sse.events.map((e) => e.data).join('\n');
      for (const secret of [CANARY_NAME, 'CANARYSURNAME', CANARY_MRN, CANARY_DOB, 'SSE-MLLP-1', 'SSE-HTTP-0', 'hCG beta']) expect(wire).not.toContain(secret);
      const list = (await (await fetch(`${hub.url}/api/v1/messages?controlId=SSE-MLLP-1&direction=inbound`, { headers: auth(admin) })).json()) as { items: { patientKey: string }[] };
      expect(list.items[0]?.patientKey).toBeTruthy();
      expect(wire).not.toContain(list.items[0]!.patientKey);
    } finally {
      sse.close();
    }
  });

  test('an open MLLP connection shows as a connected peer of the listener', async () => {
    const sse = new SseClient(`${hub.url}/api/v1/monitor/events`, auth(viewer));
    let socket: Socket | undefined;
    try {
      expect(await sse.status).toBe(200);
      socket = connect(hub.mllpPort, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket!.once('connect', resolve).once('error', reject));
      const s = await sse.waitForSnapshot((x) => (endpointOf(x, 'hl7-intake')?.connections ?? 0) >= 1);
      expect(endpointOf(s, 'hl7-intake')!.peers.map((p) => p.address)).toEqual(expect.arrayContaining([expect.stringContaining('127.0.0.1')]));
      socket.destroy();
      await sse.waitForSnapshot((x) => x.seq > s.seq && endpointOf(x, 'hl7-intake')?.connections === 0);
    } finally {
      socket?.destroy();
      sse.close();
    }
  });

  test('the one-shot snapshot matches what the stream sends', async () => {
    const res = await fetch(`${hub.url}/api/v1/monitor/snapshot`, { headers: auth(viewer) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const snap = (await res.json()) as { endpoints: { name: string }[]; series: { bucketMs: number } };
    expect(snap.endpoints.map((e) => e.name)).toEqual(expect.arrayContaining(['http-intake', 'hl7-intake']));
    expect(snap.series.bucketMs).toBe(10_000);
  });
});
