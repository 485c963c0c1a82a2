import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import type { AlertEvent, AlertsView } from '../../adapters/alerts/types';
import { sendMllp } from '../e2e/monitor-support';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { freePort, login, startHubProcess, waitForPort } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { pollUntil } from '../support/poll';

const SECRET = 'alert-webhook-secret-for-tests';
const VIEWER_PASSWORD = 'viewer-password-for-tests';
const CANARIES = [CANARY_MRN, CANARY_DOB, ...CANARY_NAME.split('^')];

interface Delivery {
  headers: IncomingMessage['headers'];
  raw: string;
  event: AlertEvent;
}

/** The webhook receiver: records every POST and answers 200. */
async function webhookReceiver(): Promise<{ url: string; got: Delivery[]; server: Server }> {
  const got: Delivery[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, raw, event: JSON.parse(raw) as AlertEvent });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`, got, server };
}

const until = <T>(what: string, probe: () => T | undefined, hub: HubProcess, timeoutMs = 30_000): Promise<T> =>
  pollUntil(what, probe, { timeoutMs, intervalMs: 200, context: () => `hub output:\n${hub.output()}` });

describe('alerts on the built hub: an error-rate rule fires and recovers', () => {
  let hub: HubProcess;
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;
  let mllpPort: number;

  beforeAll(async () => {
    rx = await webhookReceiver();
    mllpPort = await freePort();
    hub = await startHubProcess({
      HUB_ADMIN_PASSWORD: 'admin-password-for-tests',
      HUB_MLLP_PORT: String(mllpPort),
      HUB_USERS: JSON.stringify([{ username: 'vic', role: 'viewer', passwordHash: bcrypt.hashSync(VIEWER_PASSWORD, 4) }]),
      HUB_ALERT_RULES: JSON.stringify([
        { name: 'intake-errors', type: 'error-rate', endpoint: 'hl7-intake', threshold: 0.5, minMessages: 1, windowSeconds: 3600, throttleSeconds: 0 },
        { name: 'quiet-rule', type: 'endpoint-down', endpoint: 'no-such-endpoint', forSeconds: 0 },
      ]),
      HUB_ALERT_INTERVAL_SECONDS: '1',
      HUB_ALERT_WEBHOOK_URL: rx.url,
      HUB_ALERT_WEBHOOK_SECRET: SECRET,
    });
    await waitForPort(mllpPort);
  });

  afterAll(async () => {
    await hub?.stop();
    await new Promise((r) => rx?.server.close(r));
  });

  test('unparseable input fires the rule, good messages clear it; the webhook gets both, signed; the monitor shows the history', async () => {
    // Input the intake cannot parse is stored as an error and answered AR: 1 of 1 in error.
    expect(await sendMllp(mllpPort, [`NOT HL7 AT ALL|${CANARY_MRN}|${CANARY_NAME}\r`])).toEqual(['AR']);
    const fired = await until('the fired notice', () => rx.got.find((d) => d.event.kind === 'fired'), hub);
    expect(fired.event).toMatchObject({ rule: 'intake-errors', type: 'error-rate', value: 1, threshold: 0.5, unit: 'ratio', subjects: ['hl7-intake'] });
    expect(fired.event.text).toContain('[FIRING] intake-errors: 100% in error (1 of 1 messages');
    expect(fired.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', SECRET).update(fired.raw).digest('hex')}`);
    expect(fired.headers['x-hub-alert-id']).toBe(fired.event.id);

    // Three good messages: 1 of 4 in error, under 50%.
    expect(await sendMllp(mllpPort, [canaryOru('ALERT-OK-1'), canaryOru('ALERT-OK-2'), canaryOru('ALERT-OK-3')])).toEqual(['AA', 'AA', 'AA']);
    const recovered = await until('the recovered notice', () => rx.got.find((d) => d.event.kind === 'recovered'), hub);
    expect(recovered.event).toMatchObject({ rule: 'intake-errors', value: 0.25, since: fired.event.since });
    expect(rx.got.map((d) => `${d.event.rule}:${d.event.kind}`)).toEqual(['intake-errors:fired', 'intake-errors:recovered']);

    const viewer = await login(hub.url, 'vic', VIEWER_PASSWORD);
    expect((await fetch(`${hub.url}/api/v1/monitor/alerts`)).status).toBe(401);
    const res = await fetch(`${hub.url}/api/v1/monitor/alerts`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.status).toBe(200);
    const view = (await res.json()) as AlertsView;
    expect(view).toMatchObject({ enabled: true, intervalSeconds: 1 });
    expect(view.rules.map((r) => [r.name, r.state])).toEqual([
      ['intake-errors', 'ok'],
      ['quiet-rule', 'ok'],
    ]);
    expect(view.history.map((h) => [h.kind, h.rule])).toEqual([
      ['recovered', 'intake-errors'],
      ['fired', 'intake-errors'],
    ]);
    expect(view.history[1]!.text).toBe(fired.event.text);

    // Same history in the audit log, as the system.
    const admin = await login(hub.url, 'admin', 'admin-password-for-tests');
    const audit = (await (await fetch(`${hub.url}/api/v1/audit?action=alert.fired`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: { actor: string; target: string }[] };
    expect(audit.items).toEqual([expect.objectContaining({ actor: 'system', target: 'intake-errors' })]);

    // No canary PHI in what went out, what the monitor serves, or the hub's logs.
    const everything = rx.got.map((d) => d.raw).join('\n') + JSON.stringify(view) + hub.output();
    expect(CANARIES.filter((c) => everything.includes(c))).toEqual([]);
  });
});
