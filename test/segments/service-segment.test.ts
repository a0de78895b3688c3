// The bundled service reports per region on its own: a queue defect in eu only, hidden in a healthy total, rolls
// queue.async-tasks back naming eu. Real Rollgate and the real service on one port, the real SDK, real HTTP.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { adminClient, bundledFlagsDir, makeFlagsDir, testConfig } from '../helpers/rollgate.ts';

const minute = 60_000;
const flag = 'queue.async-tasks';

/** The bundled plan, its stages cut to 50 % then 100 % (a fast test), with the guardrail line split by region. */
function planWithRegions(): string {
  const bundled = fs.readFileSync(path.join(bundledFlagsDir, `${flag}.yaml`), 'utf8');
  const stages = bundled.replace(
    / {2}stages:\n(?: {4}- .*\n)+/,
    '  stages:\n    - { percent: 50, bake: 2h }\n    - { percent: 100 }\n',
  );
  const plan = stages.replace(
    '    - { metric: errors, worse: higher }                 # relative to control, sequential test\n',
    '    - { metric: errors, worse: higher, by: region, maxSegments: 4 }\n',
  );
  if (!plan.includes('by: region') || !plan.includes('percent: 50, bake: 2h'))
    throw new Error('the bundled plan changed shape; update this test');
  return plan;
}

/** Requests per minute and region: eu is about 6 % of the traffic, the one whose queue path goes bad. */
const regions = { us: 1000, ap: 600, eu: 100 } as const;

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function start() {
  const clock = manualClock(Date.parse('2026-03-02T09:00:00Z'));
  const config = testConfig({
    // The service reports all three of its flags, in one batch: the other two plans must exist too.
    flagsDir: makeFlagsDir(
      ['schema.ai-model.yaml', 'pricing.dynamic-offers.yaml'].map((f) => path.join(bundledFlagsDir, f)),
      { [`${flag}.yaml`]: planWithRegions() },
    ),
    env: { ROLLGATE_SERVICE: 'on', ROLLGATE_TICK_INTERVAL: '24h' },
  });
  const rg = createRollgate(config, {
    clock,
    log: silentLogger,
    service: {
      flags: { refreshMs: 50, metricsMs: 3_600_000 },
      // 1 % of attempts fail on either path; tasks from eu fail another 8 % on the queued path only: about 9×
      // in eu, 1.5× in all, and 1.5 % in all stays inside the plan's 2 % error SLO.
      work: { workMs: 1, failureRate: 0.01, regionDefects: { eu: 0.08 } },
      // One attempt: a failure is final at once, so a minute's outcomes are all in before the clock moves on.
      queue: { maxAttempts: 1 },
      workers: { pollMs: 5 },
      signals: { flushMs: 3_600_000 },
    },
  });
  const { url } = await rg.start();
  stops.push(() => rg.stop());
  const svc = rg.service;
  if (!svc) throw new Error('the service is not mounted');
  const admin = adminClient(url);
  return { rg, svc, clock, url, admin };
}

/** POST /service/tasks as the demo traffic sends it: the caller's region in X-Region. */
function postTask(agent: http.Agent, url: string, region: string, userId: string, n: number) {
  const body = JSON.stringify({ tenantId: `t-${region}`, userId, type: 'self-improvement', input: { n } });
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      new URL('/service/tasks', url),
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-region': region },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the service reports per region', { timeout: 120_000 }, () => {
  it('rolls back a queue defect in eu alone, named by region, while the whole population is healthy', async () => {
    const { rg, svc, clock, url, admin } = await start();
    expect((await admin('POST', `flags/${flag}/rollout/start`)).status).toBe(200);
    // The SDK holds the 50 % stage before any traffic: about half of 100 users are in.
    const inRollout = () =>
      Array.from({ length: 100 }, (_, i) => svc.flags.isEnabled(flag, { userId: `probe-${i}` })).filter(
        Boolean,
      ).length;
    await expect.poll(inRollout, { timeout: 5000 }).toBeGreaterThan(25);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    stops.push(() => agent.destroy());
    let n = 0;
    let minutes = 0;
    let phase = 'progressing';
    const statuses = new Map<number, number>();
    while (phase === 'progressing' && minutes < 30) {
      const calls: Array<() => Promise<number>> = [];
      for (const [region, perMinute] of Object.entries(regions))
        for (let k = 0; k < perMinute; k++) {
          const userId = `${region}-user-${(minutes * perMinute + k) % 4000}`;
          const i = n++;
          calls.push(() => postTask(agent, url, region, userId, i));
        }
      for (let k = 0; k < calls.length; k += 32) {
        const done = await Promise.all(calls.slice(k, k + 32).map((call) => call()));
        for (const s of done) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
      // Every queued task of this minute processed (one attempt each) before the minute closes.
      await expect
        .poll(async () => {
          const q = await svc.queue.stats();
          return q.ready + q.leased + svc.workers.inflight;
        })
        .toBe(0);
      clock.advance(minute);
      await svc.reporter.flush();
      await rg.scheduler.tick();
      minutes++;
      phase = (await admin('GET', `flags/${flag}`)).body.flag.phase;
    }
    // 201 inline (control), 202 queued (treatment): the service answered every request.
    expect([...statuses.keys()].sort()).toEqual([201, 202]);
    expect(phase).toBe('rolled-back');
    expect(minutes).toBeLessThan(20);
    expect(svc.reporter.stats()).toMatchObject({
      rejected: 0,
      dropped: 0,
      unsegmented: 0,
      unacknowledged: 0,
    });

    const events = (await admin('GET', `events?flag=${flag}&limit=20`)).body.events as Array<{
      type: string;
      reason: string;
      data: Record<string, unknown>;
    }>;
    const rollback = events.find((e) => e.type === 'rollout.rolled-back');
    expect(rollback?.reason).toMatch(
      /^errors \(relative\) in region=eu: errors [\d.]+ % in treatment against [\d.]+ % in control \([\d.]+×\).*the whole population is healthy/,
    );
    expect(rollback?.data).toMatchObject({
      guardrail: 'errors (relative) in region=eu',
      status: 'regressed',
      segment: { field: 'region', value: 'eu' },
      wholePopulation: { status: 'healthy' },
    });

    // The stored signals came from the service, per region: us and ap healthy, eu's treatment failing.
    const health = await admin('GET', `flags/${flag}/health?since=2026-03-02T09:00:00Z`);
    const byName = new Map(
      (health.body.verdict.guardrails as Array<{ name: string; status: string }>).map((g) => [g.name, g]),
    );
    expect(byName.get('errors (relative) in region=us')?.status).not.toBe('regressed');
    expect(byName.get('errors (relative) in region=ap')?.status).not.toBe('regressed');
    const whole = rollback?.data.wholePopulation as { evidence: { rateRatio: number } };
    expect(whole.evidence.rateRatio).toBeLessThan(1.6);
  });
});
