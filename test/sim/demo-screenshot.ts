import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

/**
 * A headless Chromium signed in to the hub's /monitor, to take a picture of
 * the overview while the demo runs (`npm run demo -- --screenshot FILE`).
 * playwright-core is a dev dependency, so it is loaded only when asked for.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 20_000;

export class MonitorCamera {
  private constructor(
    private readonly browser: BrowserContext,
    private readonly page: Page,
    private readonly profile: string,
  ) {}

  /**
   * Open /monitor and sign in.
   *
   * @param url - the hub's base URL
   * @param password - the admin password
   */
  static async open(url: string, password: string): Promise<MonitorCamera> {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH, or apt-get install chromium)`);
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'demo-monitor-profile-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 } });
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(WAIT_MS);
    await page.goto(`${url}/monitor`);
    await page.locator('#username').fill('admin');
    await page.locator('#password').fill(password);
    await page.locator('[data-testid=login-form] button[type=submit]').click();
    await page.locator('[data-testid=who]').filter({ hasText: 'admin' }).waitFor();
    await page.locator('[data-testid=live][data-state=live]').waitFor();
    return new MonitorCamera(browser, page, profile);
  }

  /**
   * Save the visible overview (1280×800) as a PNG.
   *
   * @param file - where to write it
   */
  async shoot(file: string): Promise<void> {
    await this.page.screenshot({ path: file, fullPage: false });
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    rmSync(this.profile, { recursive: true, force: true });
  }
}
