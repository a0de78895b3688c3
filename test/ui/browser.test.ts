// The dashboard in a real headless Chromium (playwright-core driving Debian's chromium) against a real Rollgate over HTTP.
/// <reference lib="dom" />
import fs from 'node:fs';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, testTokens } from '../helpers/rollgate.ts';
import { startUiServer, uiT0 } from './ui-server.ts';

const executablePath = '/usr/bin/chromium';
const hasChromium = fs.existsSync(executablePath);
if (!hasChromium)
  console.log(`skipping dashboard browser tests: ${executablePath} is missing (apt-get install chromium)`);

const artifacts = path.resolve(import.meta.dirname, '../../test-artifacts/ui');
const minute = 60_000;

describe.skipIf(!hasChromium)('the dashboard in Chromium', { timeout: 120_000 }, () => {
  let server: Awaited<ReturnType<typeof startUiServer>>;
  let context: BrowserContext;
  let page: Page;
  const shot = (name: string) =>
    page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
  const phaseOf = (flag: string) => server.rg.controller.requireFlag(flag).state.phase;

  beforeAll(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    server = await startUiServer();
    context = await chromium.launchPersistentContext(tempDir('rollgate-chromium-'), {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
  });

  it('sends / to the sign-in form, and signs in with an admin token to see the bundled flags', async () => {
    await page.goto(server.url);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.fill('input[name=token]', testTokens.admin);
    await page.click('button:has-text("Sign in")');
    await page.waitForURL(`${server.url}/ui`);
    const names = await page.$$eval('tr[data-flag]', (rows) => rows.map((r) => r.getAttribute('data-flag')));
    expect(names.sort()).toEqual(['pricing.dynamic-offers', 'queue.async-tasks', 'schema.ai-model']);
    // The token is nowhere in the page, its URL or a readable cookie.
    expect(await page.content()).not.toContain(testTokens.admin);
    expect(page.url()).not.toContain(testTokens.admin);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'rollgate_session', httpOnly: true, sameSite: 'Strict' });
    expect(cookie?.value).not.toContain(testTokens.admin);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await shot('flags');
  });

  it('opens a flag, starts and pauses it with the buttons, and shows the phase change', async () => {
    await page.click('a[href="/ui/flags/schema.ai-model"]');
    await page.waitForURL(/\/ui\/flags\/schema\.ai-model$/);
    expect(await page.textContent('#live [data-phase]')).toBe('ready');
    await page.fill('input[name=reason]', 'ship #88');
    await page.click('button:text-is("Start")');
    await page.waitForSelector('#live [data-phase="progressing"]');
    expect(phaseOf('schema.ai-model')).toBe('progressing');
    await page.fill('input[name=reason]', 'watching a dashboard');
    await page.click('button:text-is("Pause")');
    await page.waitForSelector('#live [data-phase="paused"]');
    expect(server.rg.controller.requireFlag('schema.ai-model').state.phaseReason).toBe(
      'watching a dashboard',
    );
    expect(await page.textContent('.log')).toContain('watching a dashboard');
    expect(await page.$('button:text-is("Resume")')).not.toBeNull();
    await shot('flag-paused');
  });

  it('shows the 409 message when an action is not allowed in the current phase', async () => {
    // A stale page: its form is submitted to an action the phase no longer allows.
    await page.fill('input[name=reason]', 'again');
    const response = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.evaluate(() => {
      const form = document.querySelector('form.actions') as HTMLFormElement;
      form.action = form.action.replace(/[^/]+$/, 'start');
      form.requestSubmit();
    });
    expect((await response).status()).toBe(409);
    expect(await page.textContent('[role=alert]')).toMatch(
      /cannot start flag "schema\.ai-model" while it is paused \(allowed from: ready, rolled-back\)/,
    );
    expect(phaseOf('schema.ai-model')).toBe('paused');
  });

  it('draws the guardrail charts from posted signals: both arms and the test statistic against its threshold', async () => {
    await server.api('POST', '/api/admin/flags/queue.async-tasks/rollout/start', { reason: 'charts' });
    for (let m = 0; m < 6; m++) {
      server.clock.set(uiT0 + (m + 1) * minute);
      await server.postMinute('queue.async-tasks', uiT0 + m * minute + 1000);
    }
    await page.goto(`${server.url}/ui/flags/queue.async-tasks`);
    const errors = page.locator('[data-guardrail="errors (relative)"]');
    const arms = await errors
      .locator('polyline')
      .evaluateAll((lines) =>
        lines.map((l) => [
          l.getAttribute('data-series'),
          Number(l.getAttribute('data-points')),
          l.getAttribute('points')?.split(' ').length,
        ]),
      );
    expect(arms).toEqual([
      ['treatment', 6, 6],
      ['control', 6, 6],
      ['cumulative (from the start)', 6, 6],
      ['any onset (change-point mixture)', 6, 6],
    ]);
    expect(await errors.locator('[data-level]').count()).toBe(1);
    expect(
      await page
        .locator('[data-guardrail="latency p95"] polyline[data-series="control"]')
        .getAttribute('data-points'),
    ).toBe('6');
    const box = await errors.locator('svg').first().boundingBox();
    expect(box?.width).toBeGreaterThan(250);
    await shot('flag-charts');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('flag-charts-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows a rollback arriving live, without a reload', async () => {
    await page.goto(`${server.url}/ui`);
    await page.waitForFunction(() => document.body.dataset.live === 'on');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    await server.api('POST', '/api/admin/flags/queue.async-tasks/rollout/rollback', {
      reason: 'pager says so',
    });
    await page.waitForSelector('tr[data-flag="queue.async-tasks"][data-phase="rolled-back"]');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    expect(await page.textContent('tr[data-flag="queue.async-tasks"] [data-reason]')).toBe('pager says so');
    expect(await page.textContent('#live-status')).toBe('queue.async-tasks is now rolled-back, serving 0 %');
    await shot('flags-rolled-back-live');
  });

  it("shows the controller's own rollback live, in words, and the statistic that crossed its threshold", async () => {
    await page.goto(`${server.url}/ui`);
    await page.waitForFunction(() => document.body.dataset.live === 'on');
    const start = uiT0 + 10 * minute;
    server.clock.set(start);
    await server.api('POST', '/api/admin/flags/queue.async-tasks/rollout/start', { reason: 'second try' });
    for (let m = 0; m < 5; m++) {
      server.clock.set(start + (m + 1) * minute);
      await server.api(
        'POST',
        '/api/signals',
        {
          records: [
            { flag: 'queue.async-tasks', arm: 'treatment', at: start + m * minute, requests: 20, errors: 6 },
            { flag: 'queue.async-tasks', arm: 'control', at: start + m * minute, requests: 1980, errors: 6 },
          ],
        },
        testTokens.ingest,
      );
    }
    await server.rg.scheduler.tick();
    const row = 'tr[data-flag="queue.async-tasks"][data-phase="rolled-back"]';
    await page.waitForSelector(row);
    expect(await page.textContent(`${row} [data-reason]`)).toMatch(
      /^errors \(relative\): errors 30\.0 % in treatment against 0\.30 % in control \(99×\), beyond the 2× this guardrail guards against, with [\d.]+ % confidence; rolled back from 1 %$/,
    );
    await page.click('a[href="/ui/flags/queue.async-tasks"]');
    const caption = await page.locator('[data-guardrail="errors (relative)"] figure').nth(1).textContent();
    const latest = Number(/any onset \(change-point mixture\) (-?[\d.]+)/.exec(caption ?? '')?.[1]);
    const threshold = Number(
      /= ([\d.]+)/.exec(
        (await page
          .locator('[data-guardrail="errors (relative)"] [data-level]')
          .first()
          .getAttribute('data-level')) ?? '',
      )?.[1],
    );
    expect(latest).toBeGreaterThan(threshold);
    await shot('flag-rolled-back-by-controller');
  });

  it('refuses a forged CSRF token and changes nothing', async () => {
    await page.goto(`${server.url}/ui/flags/schema.ai-model`);
    await page.fill('input[name=reason]', 'forged');
    await page.evaluate(() => {
      (document.querySelector('form.actions input[name=_csrf]') as HTMLInputElement).value = 'forged-token';
    });
    const response = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.click('button:text-is("Resume")');
    expect((await response).status()).toBe(403);
    expect(await page.textContent('[role=alert]')).toMatch(/security token did not match/);
    expect(phaseOf('schema.ai-model')).toBe('paused');
  });

  it('refuses pages and actions without a session', async () => {
    await context.clearCookies();
    await page.goto(`${server.url}/ui/flags/schema.ai-model`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    const res = await page.request.post(`${server.url}/ui/flags/schema.ai-model/actions/resume`, {
      form: { _csrf: 'x', reason: 'no session' },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(401);
    expect(phaseOf('schema.ai-model')).toBe('paused');
    await shot('signed-out');
  });
});
