import { CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { createToken, login } from '../support/hub-process';
import { PASSWORDS, sendMllp, startMonitorHub } from '../e2e/monitor-support';
import type { MonitorHub } from '../e2e/monitor-support';
import type { MessageDetail, MonitorMe } from '../../hub/monitor/protocol';

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const json = { 'content-type': 'application/json' };

describe('monitor pages, session cookie, message detail and operations on the built hub', () => {
  let hub: MonitorHub;
  let admin: string;
  let operator: string;
  let viewer: string;
  let messageId: string;

  beforeAll(async () => {
    hub = await startMonitorHub();
    admin = await login(hub.url, 'admin', PASSWORDS.admin);
    operator = await login(hub.url, 'olga', PASSWORDS.olga);
    viewer = await login(hub.url, 'vic', PASSWORDS.vic);
    expect(await sendMllp(hub.mllpPort, [canaryOru('API-DETAIL-1')])).toEqual(['AA']);
    const list = (await (await fetch(`${hub.url}/api/v1/messages?controlId=API-DETAIL-1&direction=inbound`, { headers: auth(viewer) })).json()) as { items: { id: string }[] };
    messageId = list.items[0]!.id;
  });
  afterAll(async () => {
    await hub?.stop();
  });

  test('the monitor page is public, static and served under a CSP without inline scripts', async () => {
    const res = await fetch(`${hub.url}/monitor`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await res.text();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/monitor\/app-[A-Z0-9]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style|style="/);
    const js = /src="(\/monitor\/app-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const css = /href="(\/monitor\/app-[A-Z0-9]+\.css)"/.exec(html)![1]!;
    const jsRes = await fetch(`${hub.url}${js}`);
    expect(jsRes.status).toBe(200);
    expect(jsRes.headers.get('content-type')).toContain('javascript');
    expect(jsRes.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${hub.url}${css}`)).headers.get('content-type')).toContain('text/css');
  });

  test('every monitor data call needs a token', async () => {
    for (const path of ['/api/v1/monitor/me', '/api/v1/monitor/snapshot', `/api/v1/monitor/messages/${messageId}`]) {
      expect((await fetch(`${hub.url}${path}`)).status).toBe(401);
    }
    expect((await fetch(`${hub.url}/api/v1/monitor/messages/${messageId}/replay`, { method: 'POST', headers: json, body: '{"reason":"xyz"}' })).status).toBe(401);
  });

  test('a login session becomes an HttpOnly SameSite=Strict cookie that authenticates the API, and logout ends it', async () => {
    const session = await login(hub.url, 'olga', PASSWORDS.olga);
    expect((await fetch(`${hub.url}/monitor/session`, { method: 'POST' })).status).toBe(401);
    const res = await fetch(`${hub.url}/monitor/session`, { method: 'POST', headers: auth(session) });
    expect(res.status).toBe(204);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^hub_session=hub_[\w-]+;/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toContain('Secure'); // plain HTTP here; Secure is added when the hub serves TLS
    const cookie = setCookie.split(';')[0]!;

    const me = (await (await fetch(`${hub.url}/api/v1/monitor/me`, { headers: { cookie } })).json()) as MonitorMe;
    expect(me).toMatchObject({ username: 'olga', role: 'operator', canSeeBodies: true, canOperate: true, features: { operations: true, queues: true } });
    expect((await fetch(`${hub.url}/api/v1/messages?limit=1`, { headers: { cookie } })).status).toBe(200);

    const out = await fetch(`${hub.url}/monitor/session`, { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^hub_session=;.*Max-Age=0/);
    expect((await fetch(`${hub.url}/api/v1/monitor/me`, { headers: { cookie } })).status).toBe(401);
    const audit = (await (await fetch(`${hub.url}/api/v1/audit?actor=olga&action=auth.logout`, { headers: auth(admin) })).json()) as { items: unknown[] };
    expect(audit.items.length).toBeGreaterThan(0);
  });

  test('an API token is not turned into a browser cookie', async () => {
    const apiToken = await createToken(hub.url, admin, 'bot-for-cookie', 'viewer');
    const res = await fetch(`${hub.url}/monitor/session`, { method: 'POST', headers: auth(apiToken) });
    expect(res.status).toBe(400);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  test('an operator sees the body, the parsed HL7 tree with field names and the lifecycle; the read is audited', async () => {
    const res = await fetch(`${hub.url}/api/v1/monitor/messages/${messageId}`, { headers: auth(operator) });
    expect(res.status).toBe(200);
    const d = (await res.json()) as MessageDetail;
    expect(d.bodyHidden).toBe(false);
    expect(d.body?.data).toContain('API-DETAIL-1');
    expect(d.parsed?.format).toBe('hl7');
    const msh = d.parsed!.segments.find((s) => s.id === 'MSH')!;
    expect(msh.fields.find((f) => f.ref === 'MSH-10')).toMatchObject({ name: 'Message Control ID', raw: 'API-DETAIL-1' });
    const pid = d.parsed!.segments.find((s) => s.id === 'PID')!;
    expect(pid.description).toBe('Patient Identification');
    expect(pid.fields.find((f) => f.ref === 'PID-3')).toMatchObject({ name: 'Patient Identifier List' });
    expect(pid.fields.find((f) => f.ref === 'PID-5')!.reps[0]).toEqual(['CANARYSURNAME', 'CANARYGIVEN']);
    expect(d.lifecycle[0]).toMatchObject({ kind: 'received', title: 'Received on hl7-intake' });
    expect(d.lifecycle.map((e) => e.kind)).toContain('status');
    // The listener that received it runs: an operator may also reprocess it.
    expect(d.operations).toEqual({ available: true, allowed: true, reason: null, reprocess: true });

    const audit = (await (await fetch(`${hub.url}/api/v1/audit?action=message.view-body&actor=olga`, { headers: auth(admin) })).json()) as { items: { target: string }[] };
    expect(audit.items.map((e) => e.target)).toContain(messageId);
    // The next look shows that read in the lifecycle.
    const again = (await (await fetch(`${hub.url}/api/v1/monitor/messages/${messageId}`, { headers: auth(operator) })).json()) as MessageDetail;
    expect(again.lifecycle).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'audit', title: 'Body viewed', actor: 'olga' })]));
  });

  test('a viewer gets the metadata and lifecycle, never the body or its parsed tree', async () => {
    const res = await fetch(`${hub.url}/api/v1/monitor/messages/${messageId}`, { headers: auth(viewer) });
    expect(res.status).toBe(200);
    const text = await res.text();
    const d = JSON.parse(text) as MessageDetail;
    expect(d).toMatchObject({ body: null, bodyHidden: true, parsed: null });
    expect(d.message.controlId).toBe('API-DETAIL-1');
    expect(d.operations.allowed).toBe(false);
    for (const secret of [CANARY_NAME, 'CANARYSURNAME', CANARY_MRN, 'hCG beta']) expect(text).not.toContain(secret);
    const audit = (await (await fetch(`${hub.url}/api/v1/audit?action=message.view-body&actor=vic`, { headers: auth(admin) })).json()) as { items: unknown[] };
    expect(audit.items).toHaveLength(0);
    expect((await fetch(`${hub.url}/api/v1/monitor/messages/no-such-id`, { headers: auth(viewer) })).status).toBe(404);
  });

  test('replay and discard: viewers are refused; a message that is no dead letter cannot be replayed or discarded (409 NOT_FOUND), audited as failed', async () => {
    const replay = (token: string, body: unknown) =>
      fetch(`${hub.url}/api/v1/monitor/messages/${messageId}/replay`, { method: 'POST', headers: { ...auth(token), ...json }, body: JSON.stringify(body) });
    expect((await replay(viewer, { reason: 'testing' })).status).toBe(403);
    const res = await replay(operator, { reason: 'LIS was down' });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    const discard = await fetch(`${hub.url}/api/v1/monitor/messages/${messageId}/discard`, { method: 'POST', headers: { ...auth(operator), ...json }, body: JSON.stringify({ reason: 'duplicate' }) });
    expect(discard.status).toBe(409);

    const dry = await fetch(`${hub.url}/api/v1/monitor/replay`, { method: 'POST', headers: { ...auth(operator), ...json }, body: JSON.stringify({ filter: { controlId: 'API-DETAIL-1', endpoint: 'hl7-intake' }, dryRun: true }) });
    expect(await dry.json()).toEqual({ count: 1, limit: null });
    const unfiltered = await fetch(`${hub.url}/api/v1/monitor/replay`, { method: 'POST', headers: { ...auth(operator), ...json }, body: JSON.stringify({ filter: {}, dryRun: true }) });
    expect(unfiltered.status).toBe(400);

    const audit = (await (await fetch(`${hub.url}/api/v1/audit?actor=olga&action=message.replay`, { headers: auth(admin) })).json()) as { items: { detail: { outcome: string } }[] };
    expect(audit.items.map((e) => e.detail.outcome)).toEqual(['failed']);
  });
});
