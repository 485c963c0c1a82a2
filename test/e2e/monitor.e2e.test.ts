import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { CANARY_MRN, canaryOru } from '../fixtures/canary';
import { createToken, login } from '../support/hub-process';
import { PASSWORDS, sendMllp, startMonitorHub } from './monitor-support';
import type { MonitorHub } from './monitor-support';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 15_000;

/**
 * The monitor in a real browser against the built hub: login, the overview
 * updating live, search, the detail view with the parsed HL7 tree, and a
 * viewer who never sees a body. No fixed sleeps: every wait polls the DOM.
 */
describe('monitor UI in Chromium', () => {
  let hub: MonitorHub;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let messageId = '';

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install chromium\``);
    hub = await startMonitorHub();
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
    const admin = await login(hub.url, 'admin', PASSWORDS.admin);
    const bot = await createToken(hub.url, admin, 'e2e-intake', 'operator');
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
    const shot = join(tmpdir(), `monitor-e2e-overview-${Date.now()}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (overview): ${shot}\n`);
  });

  test('the operator finds a message by control id and sees its parsed HL7 tree with field names', async () => {
    await page.locator('header nav a', { hasText: 'Messages' }).click();
    await page.locator('[data-testid=search-form] input[name=controlId]').fill('E2E-CTL-2');
    await page.locator('[data-testid=search-form] button[type=submit]').click();
    const rows = page.locator('[data-testid=message-row]');
    await rows.filter({ hasText: 'E2E-CTL-2' }).first().waitFor();
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

    const shot = join(tmpdir(), `monitor-e2e-detail-${Date.now()}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`monitor e2e screenshot (message detail): ${shot}\n`);
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

  test('no CSP violations or script errors happened', () => {
    expect(problems).toEqual([]);
  });
});
