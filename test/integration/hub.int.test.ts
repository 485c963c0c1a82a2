import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createToken, freePort, login, runHub, startHubProcess, tempDataDir, waitForPort } from '../support/hub-process';
import { msaOf, RawMllp } from '../support/mllp-harness';
import { pollUntil } from '../support/poll';
import type { HubProcess } from '../support/hub-process';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const ANALYST_PASSWORD = 'analyst-password-for-tests';
const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('hub process (the built hub, as npm start runs it)', () => {
  let hub: HubProcess;
  let admin: string;

  beforeAll(async () => {
    hub = await startHubProcess({
      HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HUB_USERS: JSON.stringify([{ username: 'ana', role: 'analyst', passwordHash: bcrypt.hashSync(ANALYST_PASSWORD, 4) }]),
    });
    admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  test('liveness and readiness answer without a token', async () => {
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${hub.url}/readyz`);
    expect(ready.status).toBe(200);
    // The reference flows' MLLP and ASTM listeners count: ready means they listen.
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { store: 'ok', flows: 'ok', 'mllp-listener:hl7-intake': 'ok', 'astm-instrument:analyzers': 'ok' } });
  });

  test('the Node-RED admin API refuses a request without a token', async () => {
    expect((await fetch(`${hub.url}/flows`)).status).toBe(401);
    expect((await fetch(`${hub.url}/nodes`, { headers: { accept: 'application/json' } })).status).toBe(401);
    expect((await fetch(`${hub.url}/flows`, { headers: auth('hub_not-a-real-token') })).status).toBe(401);
  });

  test('with a token the palette lists the hub nodes in the IVF hub category', async () => {
    const res = await fetch(`${hub.url}/nodes`, { headers: { ...auth(admin), accept: 'application/json' } });
    expect(res.status).toBe(200);
    const sets = (await res.json()) as { types: string[]; enabled: boolean }[];
    const types = sets.flatMap((s) => s.types);
    expect(types).toEqual(expect.arrayContaining(['store-record', 'store-status']));
    const html = await (await fetch(`${hub.url}/nodes`, { headers: { ...auth(admin), accept: 'text/html' } })).text();
    expect(html).toContain("category: 'IVF hub'");
  });

  test('the reference flows are loaded', async () => {
    const res = await fetch(`${hub.url}/flows`, { headers: auth(admin) });
    const flows = (await res.json()) as { type: string; label?: string }[];
    expect(flows.some((n) => n.type === 'tab' && n.label === 'HTTP intake')).toBe(true);
    expect(flows.some((n) => n.type === 'store-record')).toBe(true);
  });

  test('the hub nodes load as one module: every node type is listed, with its texts translated, and every reference flow is an example', async () => {
    const sets = (await (await fetch(`${hub.url}/nodes`, { headers: { ...auth(admin), accept: 'application/json' } })).json()) as { module: string; types: string[] }[];
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; 'node-red': { nodes: Record<string, string> } };
    const ours = sets.filter((s) => s.module === pkg.name).flatMap((s) => s.types);
    expect(ours.sort()).toEqual(expect.arrayContaining(Object.keys(pkg['node-red'].nodes).sort()));
    // Node-RED reads a node's locales only for modules: loose node files would log and show raw catalog keys.
    const catalogs = (await (await fetch(`${hub.url}/nodes/messages?lng=en-US`, { headers: auth(admin) })).json()) as Record<string, unknown>;
    expect(catalogs[`${pkg.name}/queue-in`]).toMatchObject({ 'queue-in': { label: { queue: 'Queue' } } });
    expect(hub.output()).not.toMatch(/\b(queue-in|astm-instrument|mllp-listener)\.(log|status|errors)\./);
    const examples = (await (await fetch(`${hub.url}/library/examples/flows/${pkg.name}`, { headers: auth(admin) })).json()) as { fn: string }[];
    const flowFiles = readdirSync(join(__dirname, '..', '..', 'flows')).filter((f) => f.endsWith('.json'));
    expect(examples.map((e) => `${e.fn}.json`).sort()).toEqual(flowFiles.sort());
  });

  test('API, OpenAPI document, monitor and metrics are served', async () => {
    const doc = (await (await fetch(`${hub.url}/api/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/messages', '/audit', '/auth/login', '/tokens']));
    expect((await fetch(`${hub.url}/monitor`)).status).toBe(200);
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${hub.url}/metrics`, { headers: auth(admin) })).text();
    expect(metrics).toContain('hub_store_up{backend="sqlite"} 1');
    expect((await fetch(`${hub.url}/api/v1/messages`)).status).toBe(401);
  });

  test('a wrong password is refused and audited; repeated failures are throttled', async () => {
    const attempt = () => fetch(`${hub.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mallory', password: 'guess' }) });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await attempt()).status);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes[5]).toBe(429);
    const audit = (await (await fetch(`${hub.url}/api/v1/audit?actor=mallory`, { headers: auth(admin) })).json()) as { items: { action: string }[] };
    expect(audit.items.map((e) => e.action)).toContain('auth.login.fail');
  });

  describe('roles', () => {
    let viewer: string;
    let operator: string;
    let analyst: string;
    let messageId: string;

    beforeAll(async () => {
      viewer = await createToken(hub.url, admin, 'viewer-bot', 'viewer');
      operator = await createToken(hub.url, admin, 'operator-bot', 'operator');
      analyst = await login(hub.url, 'ana', ANALYST_PASSWORD);
      const res = await fetch(`${hub.url}/in/messages`, { method: 'POST', headers: { ...auth(operator), 'content-type': 'text/plain' }, body: canaryOru('ROLE-1') });
      expect(res.status).toBe(202);
      messageId = ((await res.json()) as { id: string }).id;
    });

    const deploy = async (token: string): Promise<number> => {
      const flows = await (await fetch(`${hub.url}/flows`, { headers: auth(admin) })).json();
      const res = await fetch(`${hub.url}/flows`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
      return res.status;
    };

    test('a viewer cannot deploy flows', async () => {
      expect([401, 403]).toContain(await deploy(viewer));
    });

    test('an operator cannot deploy flows', async () => {
      expect([401, 403]).toContain(await deploy(operator));
    });

    test('an analyst can deploy, and the deploy is audited with who and when', async () => {
      expect([200, 204]).toContain(await deploy(analyst));
      // The redeployed MLLP listener binds once its predecessor has let go of the port, after the deploy answers:
      // the tests after this one send to it.
      await waitForPort(hub.mllpPort);
      const audit = (await (await fetch(`${hub.url}/api/v1/audit?action=flows.deploy`, { headers: auth(admin) })).json()) as { items: { actor: string; at: string }[] };
      expect(audit.items[0]?.actor).toBe('ana');
      expect(Date.now() - new Date(audit.items[0]!.at).getTime()).toBeLessThan(60_000);
    });

    test('a viewer sees message metadata but never the body', async () => {
      const list = (await (await fetch(`${hub.url}/api/v1/messages?endpoint=http-intake&limit=500`, { headers: auth(viewer) })).json()) as { items: { id: string; body?: unknown }[] };
      expect(list.items.map((m) => m.id)).toContain(messageId);
      expect(list.items.every((m) => m.body === undefined)).toBe(true);
      expect((await fetch(`${hub.url}/api/v1/messages/${messageId}?includeBody=true`, { headers: auth(viewer) })).status).toBe(403);
      const meta = (await (await fetch(`${hub.url}/api/v1/messages/${messageId}`, { headers: auth(viewer) })).json()) as Record<string, unknown>;
      expect(meta.body).toBeUndefined();
      expect(JSON.stringify(meta)).not.toContain('CANARY');
    });

    test('an operator reads the body, and the read is audited', async () => {
      const res = await fetch(`${hub.url}/api/v1/messages/${messageId}?includeBody=true`, { headers: auth(operator) });
      expect(res.status).toBe(200);
      const m = (await res.json()) as { body: { encoding: string; data: string } };
      expect(m.body).toEqual({ encoding: 'utf8', data: canaryOru('ROLE-1') });
      const audit = (await (await fetch(`${hub.url}/api/v1/audit?action=message.view-body`, { headers: auth(admin) })).json()) as { items: { actor: string; target: string }[] };
      expect(audit.items[0]).toMatchObject({ actor: 'token:operator-bot', target: messageId });
    });

    test('an operator reprocesses an HL7 message the intake received: same record, one attempt more, audited; others are refused', async () => {
      const mllp = await RawMllp.open(hub.mllpPort);
      try {
        expect(msaOf(await mllp.request(canaryOru('REPROCESS-1'))).code).toBe('AA');
      } finally {
        mllp.close();
      }
      const list = async (): Promise<{ id: string; status: string; attempts: number }[]> =>
        ((await (await fetch(`${hub.url}/api/v1/messages?controlId=REPROCESS-1&endpoint=hl7-intake`, { headers: auth(operator) })).json()) as { items: { id: string; status: string; attempts: number }[] }).items;
      await pollUntil('the intake record sent', async () => (await list())[0]?.status === 'sent', { timeoutMs: 10_000 });
      const [received] = await list();
      const reprocess = (id: string, token: string, body: unknown = { reason: 'mapping fixed' }): Promise<Response> =>
        fetch(`${hub.url}/api/v1/messages/${id}/reprocess`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify(body) });

      expect((await reprocess(received!.id, viewer)).status).toBe(403);
      expect((await reprocess(received!.id, operator, {})).status).toBe(400);
      const res = await reprocess(received!.id, operator);
      expect(res.status).toBe(202);
      await pollUntil('the reprocessed record sent again', async () => {
        const [r] = await list();
        return r?.status === 'sent' && r.attempts === 1;
      }, { timeoutMs: 10_000 });
      expect(await list()).toHaveLength(1);
      const audit = (await (await fetch(`${hub.url}/api/v1/audit?action=message.reprocess`, { headers: auth(admin) })).json()) as { items: { actor: string; target: string; detail: unknown }[] };
      expect(audit.items[0]).toMatchObject({ actor: 'token:operator-bot', target: received!.id, detail: { reason: 'mapping fixed', endpoint: 'hl7-intake' } });
      // A message taken over HTTP goes on again from the store-record node that kept it: the same record, not a
      // second one, and no HTTP answer is attempted for it. An unknown id is 404.
      const httpRecord = async (): Promise<{ attempts: number }> => (await (await fetch(`${hub.url}/api/v1/messages/${messageId}`, { headers: auth(operator) })).json()) as { attempts: number };
      const httpBefore = await httpRecord();
      expect((await reprocess(messageId, operator)).status).toBe(202);
      expect((await httpRecord()).attempts).toBe(httpBefore.attempts + 1);
      // The msg travels on after the answer; give it the moment an http response node would take to complain.
      await new Promise((r) => setTimeout(r, 300));
      expect(hub.output()).not.toMatch(/No response object/);
      expect((await reprocess('no-such-id', operator)).status).toBe(404);

      // In bulk, by filter (once a flow is fixed: every error of an endpoint); a dry run counts first.
      const bulk = (body: unknown, token = operator): Promise<Response> =>
        fetch(`${hub.url}/api/v1/messages/reprocess`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const filter = { endpoint: 'hl7-intake', controlId: 'REPROCESS-1' };
      expect((await bulk({ filter: {}, reason: 'all' })).status).toBe(400);
      expect((await bulk({ filter, reason: 'x' }, viewer)).status).toBe(403);
      expect(await (await bulk({ filter, dryRun: true })).json()).toEqual({ count: 1, limit: 1000 });
      const done = await bulk({ filter, reason: 'second fix' });
      expect(done.status).toBe(202);
      expect(await done.json()).toEqual({ reprocessed: 1, refused: 0 });
      await pollUntil('reprocessed twice', async () => {
        const [r] = await list();
        return r?.status === 'sent' && r.attempts === 2;
      }, { timeoutMs: 10_000 });
      const bulkAudit = (await (await fetch(`${hub.url}/api/v1/audit?action=message.reprocess-bulk`, { headers: auth(admin) })).json()) as { items: { detail: unknown }[] };
      expect(bulkAudit.items[0]!.detail).toEqual({ reason: 'second fix', filter: { ...filter, direction: 'inbound' }, reprocessed: 1, refused: 0 });
    });

    test('only an admin manages tokens and reads the audit log', async () => {
      for (const t of [viewer, operator, analyst]) {
        expect((await fetch(`${hub.url}/api/v1/audit`, { headers: auth(t) })).status).toBe(403);
        expect((await fetch(`${hub.url}/api/v1/tokens`, { method: 'POST', headers: { ...auth(t), 'content-type': 'application/json' }, body: '{"name":"x","role":"admin"}' })).status).toBe(403);
      }
    });

    test('a revoked token stops working', async () => {
      const res = await fetch(`${hub.url}/api/v1/tokens`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'application/json' }, body: '{"name":"short-lived","role":"viewer"}' });
      const { id, token } = (await res.json()) as { id: string; token: string };
      expect((await fetch(`${hub.url}/api/v1/me`, { headers: auth(token) })).status).toBe(200);
      expect((await fetch(`${hub.url}/api/v1/tokens/${id}`, { method: 'DELETE', headers: auth(admin) })).status).toBe(204);
      expect((await fetch(`${hub.url}/api/v1/me`, { headers: auth(token) })).status).toBe(401);
    });

    test('http-in endpoints need a token', async () => {
      expect((await fetch(`${hub.url}/in/messages`, { method: 'POST', body: 'x' })).status).toBe(401);
    });
  });

  test('no canary PHI in the log output or in the raw SQLite files', async () => {
    const res = await fetch(`${hub.url}/in/messages`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'text/plain' }, body: canaryOru('CANARY-FILE-1') });
    expect(res.status).toBe(202);
    const storeDir = join(hub.dataDir, 'store');
    const files = readdirSync(storeDir).map((f) => join(storeDir, f));
    expect(files.some((f) => f.endsWith('messages.db'))).toBe(true);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    expect(bytes.length).toBeGreaterThan(0);
    for (const canary of [CANARY_MRN, CANARY_NAME.split('^')[0]!, 'CANARY']) expect(bytes.includes(Buffer.from(canary))).toBe(false);
    expect(hub.output()).not.toContain('CANARY');
    const metrics = await (await fetch(`${hub.url}/metrics`, { headers: auth(admin) })).text();
    expect(metrics).toMatch(/hub_messages_total\{endpoint="http-intake",outcome="received",type=""\} [1-9]/);
    expect(metrics).not.toContain('CANARY');
  });
});

describe('first start without configured secrets', () => {
  test('generates an admin password, prints it once, keeps only its hash and a 0600 copy', async () => {
    const first = await startHubProcess({});
    const m = /generated admin password[^\n]*\n\s*\n\s*(\S+)/.exec(first.output());
    expect(m).not.toBeNull();
    const password = m![1]!;
    expect(password.length).toBeGreaterThanOrEqual(20);
    const file = join(first.dataDir, 'admin-password.txt');
    expect(readFileSync(file, 'utf8').trim()).toBe(password);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const secrets = readFileSync(join(first.dataDir, 'secrets.json'), 'utf8');
    expect(statSync(join(first.dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(secrets).not.toContain(password);
    const { credentialSecret } = JSON.parse(secrets) as { credentialSecret: string };
    expect(credentialSecret.length).toBeGreaterThanOrEqual(32);
    await login(first.url, 'admin', password);
    const stopped = await first.stop('SIGTERM');
    expect(stopped.code).toBe(0);

    const second = await startHubProcess({ HUB_DATA_DIR: first.dataDir });
    try {
      expect(second.output()).not.toContain('generated admin password');
      await login(second.url, 'admin', password);
      expect(JSON.parse(readFileSync(join(first.dataDir, 'secrets.json'), 'utf8'))).toMatchObject({ credentialSecret });
    } finally {
      await second.stop();
    }
    expect(existsSync(join(first.dataDir, 'node-red', 'flows.json'))).toBe(true);
  });
});

describe('readiness with a listener that cannot listen', () => {
  test('HUB_MLLP_PORT taken by another process: /readyz answers 503 naming the MLLP listener, the rest of the hub runs', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const port = await freePort();
    const { proc, exited, output } = runHub({
      HUB_BIND: '127.0.0.1',
      HUB_PORT: String(port),
      HUB_MLLP_PORT: String(taken),
      HUB_ASTM_PORT: String(await freePort()),
      HUB_DATA_DIR: tempDataDir(),
      HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
    try {
      let body: { status?: string; checks?: Record<string, string> } = {};
      let status = 0;
      // Until the flows have started and the listener has tried its port.
      for (let i = 0; i < 150 && body.checks?.['mllp-listener:hl7-intake'] !== 'failing'; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`);
          status = res.status;
          body = (await res.json()) as typeof body;
        } catch {
          // not serving yet
        }
        if (body.checks?.['mllp-listener:hl7-intake'] !== 'failing') await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(503);
      expect(body.checks).toMatchObject({ store: 'ok', flows: 'ok', 'mllp-listener:hl7-intake': 'failing', 'astm-instrument:analyzers': 'ok' });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(output()).toMatch(/EADDRINUSE|CONNECT_FAILED|cannot listen/);
    } finally {
      blocker.close();
      proc.kill('SIGTERM');
      await exited;
    }
  });
});
