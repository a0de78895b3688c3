// The scheduled audit: each run stored, the latest shown, and one webhook through the durable outbox when a gate
// newly fails, not on every run that finds it still failing.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';

const bare = (name: string) => `
name: ${name}
description: nothing watches it
owner: qa
type: release
rollout:
  stages: [{ percent: 10, bake: 10m }, { percent: 100 }]
`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A loopback webhook that answers 200 and keeps the bodies. */
async function receiver() {
  const bodies: Array<{
    type: string;
    text: string;
    evidence: { newlyFailing: Array<{ subject: string }> };
  }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

describe('scheduled audit', { timeout: 60_000 }, () => {
  it('stores every run and notifies once per newly failing gate', async () => {
    const hook = await receiver();
    const flagsDir = makeFlagsDir([], { 'one.yaml': bare('one') });
    const t = buildRollgate({
      flagsDir,
      env: { ROLLGATE_NOTIFY_URLS: hook.url },
      options: { notifier: { baseDelayMs: 1, pollMs: 50 } },
    });
    cleanups.push(() => t.rg.stop());
    const { schedule } = t.rg.audits;

    const first = await schedule.runNow('schedule');
    expect(first.run).toMatchObject({
      trigger: 'schedule',
      status: 'fail',
      failing: ['blind-spot.unwatched|one||'],
    });
    expect(first.newlyFailing.map((c) => c.subject)).toEqual(['one']);
    expect(first.eventId).not.toBeNull();
    // Still failing an hour later: stored again, announced no more.
    t.clock.advance(3_600_000);
    const second = await schedule.runNow('schedule');
    expect(second.run.id).toBeGreaterThan(first.run.id);
    expect(second.newlyFailing).toEqual([]);
    expect(second.eventId).toBeNull();

    // A second unwatched plan is a new failure: only it is announced.
    fs.writeFileSync(path.join(flagsDir, 'two.yaml'), bare('two'));
    expect((await t.call('POST', '/api/admin/plans/reload')).status).toBe(200);
    const third = await (await t.call('POST', '/api/admin/audit/runs', { body: {} })).json();
    expect(third.newlyFailing.map((c: { subject: string }) => c.subject)).toEqual(['two']);
    expect(third.run.trigger).toBe('request');

    await t.rg.notifier.idle();
    expect(hook.bodies.map((b) => [b.type, b.evidence.newlyFailing.map((c) => c.subject)])).toEqual([
      ['audit.failed', ['one']],
      ['audit.failed', ['two']],
    ]);
    expect(hook.bodies[0]?.text).toMatch(/audit: gates newly fail by audit: 1 audit gate\(s\) newly fail/);
    const events = await (await t.call('GET', '/api/admin/events?type=audit.failed')).json();
    expect(events.events).toHaveLength(2);
    const latest = await (await t.call('GET', '/api/admin/audit/latest')).json();
    expect(latest.run).toMatchObject({ id: third.run.id, status: 'fail' });
    expect(latest.run.report.checks[0]).toMatchObject({ check: 'blind-spot.unwatched', status: 'fail' });
  });

  it('runs on its interval once started', async () => {
    const t = buildRollgate({
      flagsDir: makeFlagsDir([], { 'one.yaml': bare('one') }),
      options: { audit: { intervalMs: 100 } },
    });
    cleanups.push(() => t.rg.stop());
    await t.rg.start();
    const deadline = Date.now() + 20_000;
    while (!t.rg.audits.store.latest() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(t.rg.audits.store.latest()).toMatchObject({ trigger: 'schedule', status: 'fail' });
  });

  it('reads ROLLGATE_AUDIT_INTERVAL as a duration of at least a minute, default an hour', () => {
    const base = { ROLLGATE_FLAGS_DIR: 'flags' };
    const parsed = parseConfig(base);
    expect(parsed.ok && parsed.config.audit.intervalMs).toBe(3_600_000);
    const set = parseConfig({ ...base, ROLLGATE_AUDIT_INTERVAL: '15m' });
    expect(set.ok && set.config.audit.intervalMs).toBe(900_000);
    expect(parseConfig({ ...base, ROLLGATE_AUDIT_INTERVAL: '10s' })).toEqual({
      ok: false,
      problems: ['ROLLGATE_AUDIT_INTERVAL: "10s" is shorter than the minimum 1m'],
    });
    expect(parseConfig({ ...base, ROLLGATE_AUDIT_INTERVAL: 'hourly' })).toMatchObject({
      ok: false,
      problems: ['ROLLGATE_AUDIT_INTERVAL: "hourly" is not a duration such as 5s, 10m or 1h'],
    });
  });
});

describe('the dashboard audit page', () => {
  it('shows the latest stored run, failures first, with what to do', async () => {
    const t = buildRollgate({ flagsDir: makeFlagsDir([], { 'one.yaml': bare('one') }) });
    cleanups.push(() => t.rg.stop());
    const request = (p: string, init: { cookie?: string; form?: Record<string, string> } = {}) =>
      Promise.resolve(
        t.rg.app.request(p, {
          method: init.form ? 'POST' : 'GET',
          headers: {
            ...(init.cookie ? { cookie: init.cookie } : {}),
            ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          body: init.form ? new URLSearchParams(init.form).toString() : undefined,
        }),
      );
    const login = await request('/ui/login', { form: { token: testTokens.admin } });
    const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect(await (await request('/ui/audit', { cookie })).text()).toMatch(/No audit has been stored yet/);
    await t.rg.audits.schedule.runNow('schedule');
    const page = await (await request('/ui/audit', { cookie })).text();
    expect(page).toMatch(/data-audit-status="fail"/);
    expect(page).toMatch(/<tr data-check="blind-spot.unwatched" data-status="fail">/);
    expect(page).toMatch(/add guardrails \(errors, latency\) or an alert rule to the plan/);
    // Signed out, the page sends you to sign in.
    expect((await request('/ui/audit')).headers.get('location')).toBe('/ui/login');
  });
});
