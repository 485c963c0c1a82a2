import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { createToken, login } from '../support/hub-process';
import { pollUntil } from '../support/poll';
import { addDeadLetterFlow, artifactPath, DEAD_LETTER_QUEUE, PASSWORDS, sendMllp, startMonitorHub } from './monitor-support';
import type { MonitorHub } from './monitor-support';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 15_000;

/**
 * The monitor in a real browser against the built hub: login, the overview
 * updating live, search, the detail view with the parsed HL7 tree, an
 * operator replaying dead letters (as stored, and edited) until they are
 * delivered, a viewer who never sees a body and cannot replay, and an alert
 * rule firing on the Alerts page. Screenshots go to test/e2e/artifacts/.
 * No fixed sleeps: every wait polls the DOM or the API.
 */
describe('monitor UI in Chromium', () => {
  let hub: MonitorHub;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let messageId = '';
  let admin = '';
  let bot = '';
  /** Hub message ids of the dead-letter flow's messages, by what their body makes the destination do. */
  const orders = { once: '', bad: '', left: '' };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install chromium\``);
    hub = await startMonitorHub({
      // Unparseable input on the reference HL7 intake fires it (see the Alerts test).
      HUB_ALERT_RULES: JSON.stringify([{ name: 'e2e-intake-errors', type: 'error-rate', endpoint: 'hl7-intake', threshold: 0.1, minMessages: 1, windowSeconds: 3600, throttleSeconds: 0 }]),
      HUB_ALERT_INTERVAL_SECONDS: '1',
    });
    admin = await login(hub.url, 'admin', PASSWORDS.admin);
    bot = await createToken(hub.url, admin, 'e2e-intake', 'operator');
    await addDeadLetterFlow(hub.url, admin);
    profile = mkdtempSync(join(tmpdir(), 'monitor-e2e-profile-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1366, height: 768 } });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(WAIT_MS);
    // A CSP violation or an uncaught error anywhere fails the suite at the end.
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const signIn = async (username: string, password: string): Promise<void> => {
    await page.goto(`${hub.url}/monitor`);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(password);
    await page.locator('[data-testid=login-form] button[type=submit]').click();
    await page.locator('[data-testid=who]').filter({ hasText: username }).waitFor();
  };

  const endpointReceived = (name: string): Promise<number> =>
    page.evaluate((n) => Number(document.querySelector(`[data-endpoint="${n}"] [data-testid="ep-received"]`)?.textContent?.replace(/\D/g, '') ?? 'NaN'), name);

  test('an operator logs in and the overview updates live, without a reload, as messages arrive', async () => {
    await signIn('olga', PASSWORDS.olga);
    await page.locator('[data-testid=live][data-state=live]').waitFor();
    await page.locator('[data-endpoint="hl7-intake"] [data-testid="ep-state"]').filter({ hasText: 'listening' }).waitFor();
    // The session cookie is HttpOnly: page scripts cannot read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain('hub_session');
    const cookie = (await browser.cookies(hub.url)).find((c) => c.name === 'hub_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });

    const hl7Before = await endpointReceived('hl7-intake');
    const httpBefore = await endpointReceived('http-intake');
    expect(Number.isNaN(hl7Before)).toBe(false);
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    expect(await sendMllp(hub.mllpPort, [canaryOru('E2E-CTL-1'), canaryOru('E2E-CTL-2')])).toEqual(['AA', 'AA']);
    const res = await fetch(`${hub.url}/in/messages`, { method: 'POST', headers: { authorization: `Bearer ${bot}`, 'content-type': 'text/plain' }, body: canaryOru('E2E-HTTP-1') });
    expect(res.status).toBe(202);

    await page.waitForFunction(
      ({ before }) => Number(document.querySelector('[data-endpoint="hl7-intake"] [data-testid="ep-received"]')?.textContent?.replace(/\D/g, '')) >= before + 2,
      { before: hl7Before },
      { polling: 200, timeout: WAIT_MS },
    );
    await page.waitForFunction(
      ({ before }) => Number(document.querySelector('[data-endpoint="http-intake"] [data-testid="ep-received"]')?.textContent?.replace(/\D/g, '')) >= before + 1,
      { before: httpBefore },
      { polling: 200, timeout: WAIT_MS },
    );
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(Number((await page.locator('[data-testid=total-received]').textContent())?.replace(/\D/g, ''))).toBeGreaterThanOrEqual(3);
    await page.locator('[data-endpoint="hl7-intake"] [data-testid="ep-last"]').filter({ hasText: /s ago/ }).waitFor();
    const shot = artifactPath('monitor-overview.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (overview): ${shot}\n`);
  });

  test('the operator finds a message by control id and sees its parsed HL7 tree with field names', async () => {
    await page.locator('header nav a', { hasText: 'Messages' }).click();
    await page.locator('[data-testid=search-form] input[name=controlId]').fill('E2E-CTL-2');
    // The reference flows also record the result's onward message to the EMR under the same control id.
    await page.locator('[data-testid=search-form] input[name=endpoint]').fill('hl7-intake');
    await page.locator('[data-testid=search-form] button[type=submit]').click();
    const rows = page.locator('[data-testid=message-row]');
    // The unfiltered list shown before the search answers holds the row too: wait for the search's own list.
    await page.waitForFunction(
      () => {
        const shown = Array.from(document.querySelectorAll('[data-testid=message-row]'));
        return shown.length > 0 && shown.every((r) => r.textContent?.includes('E2E-CTL-2'));
      },
      undefined,
      { polling: 100, timeout: WAIT_MS },
    );
    expect(await rows.count()).toBe(1);
    messageId = (await rows.first().getAttribute('data-id')) ?? '';
    expect(messageId).not.toBe('');
    await rows.first().click();

    const tree = page.locator('[data-testid=parsed-tree]');
    await tree.waitFor();
    expect(await tree.getAttribute('data-format')).toBe('hl7');
    const text = (await tree.textContent()) ?? '';
    for (const label of ['MSH', 'Message Header', 'MSH-10', 'Message Control ID', 'E2E-CTL-2', 'PID', 'Patient Identification', 'Patient Identifier List', 'Patient Name', 'OBX', 'Observation Value']) {
      expect(text).toContain(label);
    }
    const lifecycle = (await page.locator('[data-testid=lifecycle]').textContent()) ?? '';
    expect(lifecycle).toContain('Received on hl7-intake');
    // The queue is wired: an operator's operations are enabled.
    const ops = page.locator('[data-testid=operations]');
    expect(await ops.locator('button', { hasText: 'Replay' }).first().isDisabled()).toBe(false);
    expect(await ops.textContent()).not.toContain('require the queue');

    // The listener that received it runs: an operator may run it through its flow again, with a reason.
    await ops.locator('button', { hasText: /^Reprocess$/ }).click();
    const dialog = page.locator('[data-testid=reason-dialog]');
    await dialog.waitFor();
    await dialog.locator('input[name=reason]').fill('e2e: lab mapping fixed');
    await dialog.locator('button[type=submit]').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.notice', { hasText: 'Reprocess requested.' }).waitFor();
    const again = await pollUntil('the reprocessed message sent again', async () => {
      const m = await api<{ status: string; attempts: number }>(`/messages/${messageId}`);
      return m.status === 'sent' && m.attempts === 1 ? m : undefined;
    }, { timeoutMs: 15_000 });
    expect(again.attempts).toBe(1);

    const shot = artifactPath('monitor-message-detail.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (message detail): ${shot}\n`);

    // Back on the search (its filter kept): reprocess every message it matches, after a dry-run count.
    await page.locator('.detail-head button.link').click();
    await page.locator('[data-testid=search-form] button', { hasText: 'Reprocess matching' }).click();
    const bulk = page.locator('[data-testid=reason-dialog]');
    await bulk.waitFor();
    expect(await bulk.textContent()).toContain('1 inbound message match this search');
    await bulk.locator('input[name=reason]').fill('e2e: all of them after the fix');
    await bulk.locator('button[type=submit]').click();
    await bulk.waitFor({ state: 'detached' });
    await page.locator('.notice', { hasText: '1 messages reprocessed.' }).waitFor();
    await pollUntil('the message reprocessed a second time', async () => {
      const m = await api<{ status: string; attempts: number }>(`/messages/${messageId}`);
      return m.status === 'sent' && m.attempts === 2 ? m : undefined;
    }, { timeoutMs: 15_000 });
  });

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${hub.url}/api/v1${path}`, { headers: { authorization: `Bearer ${admin}` } });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  };
  const deadLetterIds = async (): Promise<string[]> => (await api<{ items: { id: string }[] }>(`/dead-letters?queue=${DEAD_LETTER_QUEUE}`)).items.map((d) => d.id);
  const storedStatus = async (id: string): Promise<string> => (await api<{ status: string }>(`/messages/${id}`)).status;

  /** From the open message detail: Replay or Edit and replay, with a reason (and a corrected body), then wait for `sent` on screen. */
  const replayFromDetail = async (kind: 'Replay' | 'Edit and replay', reason: string, body?: string): Promise<void> => {
    await page.locator('[data-testid=operations] button', { hasText: new RegExp(`^${kind}$`) }).click();
    const dialog = page.locator('[data-testid=reason-dialog]');
    await dialog.waitFor();
    if (body !== undefined) await dialog.locator('textarea').fill(body);
    await dialog.locator('input[name=reason]').fill(reason);
    await dialog.locator('button[type=submit]').click();
    await dialog.waitFor({ state: 'detached' });
    // The detail follows the message after an operation: no reload.
    await page.locator('[data-testid=detail-status]').filter({ hasText: /^\s*sent\s*$/ }).waitFor();
  };

  test('an operator opens a dead letter from the overview, replays it and sees it delivered; edit-and-replay delivers a corrected one', async () => {
    const post = async (body: string): Promise<string> => {
      const res = await fetch(`${hub.url}/in/e2e-orders`, { method: 'POST', headers: { authorization: `Bearer ${bot}`, 'content-type': 'text/plain' }, body });
      expect(res.status).toBe(202);
      return res.text();
    };
    orders.once = await post(`order ONCE for ${CANARY_MRN}`);
    orders.bad = await post(`order BAD for ${CANARY_MRN}`);
    orders.left = await post(`order BAD too for ${CANARY_MRN}`);

    // The overview's queue row counts them as dead letters, and links to the list.
    await page.locator('header nav a', { hasText: 'Overview' }).click();
    const dead = page.locator(`[data-testid=queue-row][data-queue="${DEAD_LETTER_QUEUE}"] a[data-testid=queue-dead]`);
    await dead.filter({ hasText: /^3$/ }).waitFor();
    await dead.click();
    const rows = page.locator('[data-testid=dead-letter-row]');
    await rows.nth(2).waitFor();
    expect((await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).sort()).toEqual([orders.once, orders.bad, orders.left].sort());
    expect(await page.locator('[data-testid=dead-letters]').textContent()).toContain('FLOW_ERROR');
    const list = artifactPath('monitor-dead-letters.png');
    await page.screenshot({ path: list, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (dead letters): ${list}\n`);

    // Replay as stored: the destination takes it the second time.
    await rows.filter({ has: page.locator(`a[href="#/messages/${orders.once}"]`) }).locator('a').click();
    await page.locator('[data-testid=message-detail]').waitFor();
    expect((await page.locator('[data-testid=detail-status]').textContent())?.trim()).toBe('queued');
    await replayFromDetail('Replay', 'destination fixed, ticket E2E-1');
    expect(await storedStatus(orders.once)).toBe('sent');
    const screenshot = artifactPath('monitor-replayed-detail.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (replayed message): ${screenshot}\n`);

    // Edit and replay: the destination refuses the body as stored, and takes the corrected one.
    await page.goto(`${hub.url}/monitor#/queues/${DEAD_LETTER_QUEUE}/dead-letters`);
    await rows.filter({ has: page.locator(`a[href="#/messages/${orders.bad}"]`) }).locator('a').click();
    await page.locator('[data-testid=message-detail]').waitFor();
    await replayFromDetail('Edit and replay', 'order corrected at the source', `order corrected for ${CANARY_MRN}`);
    expect(await storedStatus(orders.bad)).toBe('sent');

    expect(await deadLetterIds()).toEqual([orders.left]);
    const audit = await api<{ items: { action: string; target: string; actor: string; detail: { reason?: string } }[] }>('/audit?action=message.replay');
    expect(audit.items.map((a) => [a.target, a.actor, a.detail.reason])).toEqual(
      expect.arrayContaining([
        [orders.once, 'olga', 'destination fixed, ticket E2E-1'],
        [orders.bad, 'olga', 'order corrected at the source'],
      ]),
    );
  });

  test('a viewer sees the same message without its body', async () => {
    await page.locator('[data-testid=logout]').click();
    await page.locator('[data-testid=login-form]').waitFor();
    await signIn('vic', PASSWORDS.vic);
    await page.goto(`${hub.url}/monitor#/messages/${messageId}`);
    await page.locator('[data-testid=message-detail]').waitFor();
    await page.locator('[data-testid=body-hidden]').waitFor();
    expect(await page.locator('[data-testid=parsed-tree]').count()).toBe(0);
    expect(await page.locator('[data-testid=raw-body]').count()).toBe(0);
    // A viewer sees the operations disabled, with the reason.
    expect(await page.locator('[data-testid=operations] button').first().isDisabled()).toBe(true);
    expect(await page.locator('[data-testid=operations]').textContent()).toContain('Only operators');
    const html = await page.content();
    expect(html).toContain('E2E-CTL-2');
    expect(html).not.toContain('CANARYSURNAME');
    expect(html).not.toContain(CANARY_MRN);
  });

  test('a viewer finds a dead letter, its body hidden, and replay refused in the page and by the API', async () => {
    await page.goto(`${hub.url}/monitor#/queues/${DEAD_LETTER_QUEUE}/dead-letters`);
    const row = page.locator(`[data-testid=dead-letter-row][data-id="${orders.left}"]`);
    await row.waitFor();
    await row.locator('a').click();
    await page.locator('[data-testid=message-detail]').waitFor();
    await page.locator('[data-testid=body-hidden]').waitFor();
    expect(await page.locator('[data-testid=raw-body]').count()).toBe(0);
    const buttons = page.locator('[data-testid=operations] button');
    expect(await buttons.count()).toBe(3);
    for (const b of await buttons.all()) expect(await b.isDisabled()).toBe(true);

    // Forced from the page with the viewer's session cookie: the hub refuses, whatever the UI shows.
    const statuses = await page.evaluate(
      async ({ id, queue }) => {
        const post = (url: string, body: unknown): Promise<number> =>
          fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.status);
        return [
          await post(`/api/v1/monitor/messages/${id}/replay`, { reason: 'forced by a viewer' }),
          await post(`/api/v1/monitor/messages/${id}/replay`, { reason: 'forced by a viewer', editedBody: 'order corrected' }),
          await post(`/api/v1/dead-letters/${queue}/${id}/replay`, { reason: 'forced by a viewer' }),
          await post(`/api/v1/monitor/messages/${id}/discard`, { reason: 'forced by a viewer' }),
        ];
      },
      { id: orders.left, queue: DEAD_LETTER_QUEUE },
    );
    expect(statuses).toEqual([403, 403, 403, 403]);
    expect(await deadLetterIds()).toEqual([orders.left]);
    expect(await storedStatus(orders.left)).toBe('queued');
    const html = await page.content();
    expect(html).not.toContain(CANARY_MRN);
  });

  test('the Alerts page shows the error-rate rule firing after unparseable input, without its content', async () => {
    expect(await sendMllp(hub.mllpPort, [`NOT HL7 AT ALL|${CANARY_MRN}|${CANARY_NAME}\r`])).toEqual(['AR']);
    await page.locator('header nav a', { hasText: 'Alerts' }).click();
    await page.locator('[data-testid=alert-rule][data-state=firing]').filter({ hasText: 'e2e-intake-errors' }).waitFor();
    await page.locator('[data-testid=alert-history][data-kind=fired]').filter({ hasText: 'e2e-intake-errors' }).first().waitFor();
    const shot = artifactPath('monitor-alerts.png');
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (alerts): ${shot}\n`);
    const html = await page.content();
    for (const c of [CANARY_MRN, ...CANARY_NAME.split('^')]) expect(html).not.toContain(c);
  });

  test('no CSP violations or script errors happened', () => {
    expect(problems).toEqual([]);
  });
});
