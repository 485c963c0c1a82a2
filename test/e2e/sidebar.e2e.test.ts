import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { PASSWORDS, sendMllp, startMonitorHub } from './monitor-support';
import type { MonitorHub } from './monitor-support';
import type { MonitorSnapshot } from '../../hub/monitor/protocol';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 20_000;
const SIDEBAR = '[data-testid=ivf-hub-sidebar]';

/**
 * The IVF hub sidebar tab inside the Node-RED editor of the built hub: an
 * operator logs into the editor, opens the tab and sees the reference flows'
 * endpoints with their state, fetched from /api/v1/monitor with the editor's
 * own login token, and the counts move when a message arrives. Metadata only.
 */
describe('IVF hub sidebar in the Node-RED editor (Chromium)', () => {
  let hub: MonitorHub;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install chromium\``);
    hub = await startMonitorHub();
    profile = mkdtempSync(join(tmpdir(), 'sidebar-e2e-profile-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1600, height: 900 } });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(WAIT_MS);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.url().includes('/api/v1/') && r.status() >= 400) problems.push(`${r.status()} from ${new URL(r.url()).pathname}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const editorToken = (): Promise<string | null> =>
    page.evaluate(() => (window as unknown as { RED: { settings: { get(k: string): { access_token?: string } | undefined } } }).RED.settings.get('auth-tokens')?.access_token ?? null);

  test('an operator logs into the editor, opens the IVF hub tab and sees the reference endpoints and their state', async () => {
    await page.goto(`${hub.url}/`);
    await page.locator('#node-dialog-login-username').fill('olga');
    await page.locator('#node-dialog-login-password').fill(PASSWORDS.olga);
    await page.locator('#node-dialog-login-submit').click();
    // The tab is added by the plugin's editor script once the editor has loaded it.
    const tab = page.locator('#red-ui-tab-ivf-hub');
    await tab.waitFor({ state: 'attached' });
    // Its icon sits in the sidebar's tab bar when there is room; otherwise in the bar's drop-down list.
    const icon = page.locator('#red-ui-tab-ivf-hub-link-button');
    if (await icon.isVisible()) await icon.click();
    else {
      await page.locator('#red-ui-sidebar .red-ui-tab-link-button-menu').click();
      await page.locator('#red-ui-tabs-menu-option-ivf-hub').click();
    }

    const sidebar = page.locator(SIDEBAR);
    await sidebar.waitFor({ state: 'visible' });
    await sidebar.locator('[data-endpoint="hl7-intake"] [data-testid=ep-state]').filter({ hasText: 'listening' }).waitFor();
    expect(await sidebar.locator('[data-testid=ivf-hub-status]').textContent()).toMatch(/Store: sqlite \(up\)/);
    const link = sidebar.locator('[data-testid=ivf-hub-monitor-link]');
    expect(await link.evaluate((a) => (a as HTMLAnchorElement).href)).toBe(`${hub.url}/monitor`);

    // The editor's login token is not a hub API token: the hub accepts it as the same user's session.
    const token = await editorToken();
    expect(token).toBeTruthy();
    expect(token!.startsWith('hub_')).toBe(false);
    const me = await fetch(`${hub.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'olga', role: 'operator' });

    // Every endpoint and queue of the monitor's snapshot has its row (the reference flows change; this does not).
    const snap = (await (await fetch(`${hub.url}/api/v1/monitor/snapshot`, { headers: { authorization: `Bearer ${token}` } })).json()) as MonitorSnapshot;
    expect(snap.endpoints.map((e) => e.name)).toEqual(expect.arrayContaining(['hl7-intake', 'http-intake']));
    const rows = await sidebar.locator('[data-endpoint]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-endpoint')));
    expect(rows.sort()).toEqual(snap.endpoints.map((e) => e.name).sort());
    const queues = await sidebar.locator('[data-queue]').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-queue'), tr.querySelector('[data-testid=q-dead]')?.textContent]));
    expect(queues.sort()).toEqual((snap.queues ?? []).map((q) => [q.queue, String(q.dead)]).sort());
    if (!snap.queues?.length) expect(await sidebar.locator('[data-testid=ivf-hub-no-queue]').count()).toBe(1);
  });

  test('the counts follow arriving messages, and nothing from a message body is shown', async () => {
    const sidebar = page.locator(SIDEBAR);
    const received = async (): Promise<number> => Number(/(\d+) received/.exec((await sidebar.locator('[data-testid=ivf-hub-totals]').textContent()) ?? '')?.[1] ?? NaN);
    const before = await received();
    expect(Number.isNaN(before)).toBe(false);
    expect(await sendMllp(hub.mllpPort, [canaryOru('SIDEBAR-CTL-1'), canaryOru('SIDEBAR-CTL-2')])).toEqual(['AA', 'AA']);
    await page.waitForFunction(
      ({ sel, want }) => Number(/(\d+) received/.exec(document.querySelector(`${sel} [data-testid=ivf-hub-totals]`)?.textContent ?? '')?.[1]) >= want,
      { sel: SIDEBAR, want: before + 2 },
    );
    const text = (await sidebar.textContent()) ?? '';
    for (const phi of [CANARY_MRN, CANARY_DOB, ...CANARY_NAME.split('^'), 'SIDEBAR-CTL-1']) expect(text).not.toContain(phi);
  });

  test('no page errors and no refused API calls while the editor was open', () => {
    expect(problems).toEqual([]);
  });

  test('after the editor logs out, its token no longer opens the hub API', async () => {
    const token = await editorToken();
    // Leave the editor first, so its next poll is not what gets refused.
    await page.goto('about:blank');
    const revoke = await fetch(`${hub.url}/auth/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(revoke.status).toBe(200);
    expect((await fetch(`${hub.url}/api/v1/monitor/snapshot`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});
