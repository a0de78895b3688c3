// A flood of invented SDK instance ids over a real port, next to a real unleash-client: the registry stays within
// its caps, the real instance is never pushed out, and the SDK-reach audit and a drill judge only real SDKs.
import http from 'node:http';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditCheck } from '../../src/audit/check.ts';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import type { DrillRun } from '../../src/sdk/drill.ts';
import { adminClient, makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';
import { nextEvent, sdkPlanFiles } from '../helpers/sdk-server.ts';

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function server(env: Record<string, string>) {
  const rg = createRollgate(testConfig({ flagsDir: makeFlagsDir(sdkPlanFiles), env }), {
    log: silentLogger,
  });
  const { url } = await rg.start();
  stops.push(() => rg.stop());
  const admin = adminClient(url);
  return { rg, url, admin };
}

/** Raw polls as a hostile sender makes them: header bytes as given, many at once on a keep-alive agent. */
async function flood(url: string, headersOf: (k: number) => Record<string, string>, n: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const statuses = new Map<number, number>();
  const one = (k: number) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        new URL('/api/client/features', url),
        { agent, headers: { authorization: testTokens.client, ...headersOf(k) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  for (let k = 0; k < n; k += 64) {
    await Promise.all(Array.from({ length: Math.min(64, n - k) }, (_, j) => one(k + j)));
  }
  agent.destroy();
  return Object.fromEntries(statuses);
}

const metric = (text: string, name: string, reason: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{reason="${reason}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('a flood of invented SDK instance ids', { timeout: 60_000 }, () => {
  it('stays within the caps, keeps the real unleash-client, and neither the audit nor a drill fails on the fakes', async () => {
    const { rg, url, admin } = await server({
      ROLLGATE_SDK_MAX_INSTANCES: '500',
      ROLLGATE_SDK_MAX_INSTANCES_PER_APP: '200',
    });
    const real = new Unleash({
      url: `${url}/api/`,
      appName: 'checkout',
      instanceId: 'checkout-7f9c-pod-1',
      customHeaders: { Authorization: testTokens.client },
      refreshInterval: 300,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
    });
    stops.push(() => real.destroy());
    await nextEvent(real, UnleashEvents.Synchronized);
    await expect
      .poll(() => rg.sdks.list().find((i) => i.instanceId === 'checkout-7f9c-pod-1')?.requests ?? 0)
      .toBeGreaterThanOrEqual(2);

    // 3000 one-shot ids under the real app's name, 3000 under 60 invented apps, 400 malformed: every poll is
    // answered as usual, each announcing a 1 s interval so that, under the old rules, it would be stale in 3 s.
    const N = 3000;
    const interval = { 'unleash-interval': '1000', 'unleash-sdk': 'unleash-node-sdk:6.12.1' };
    const sameApp = await flood(
      url,
      (k) => ({ 'unleash-appname': 'checkout', 'unleash-instanceid': `fake-${k}`, ...interval }),
      N,
    );
    const manyApps = await flood(
      url,
      (k) => ({ 'unleash-appname': `app-${k % 60}`, 'unleash-instanceid': `fake-${k}`, ...interval }),
      N,
    );
    const malformed = await flood(
      url,
      (k) => ({
        'unleash-appname': 'checkout',
        'unleash-instanceid': k % 2 ? `${'x'.repeat(101)}${k}` : `bad id;${k}<script>`,
        ...interval,
      }),
      400,
    );
    expect([sameApp, manyApps, malformed]).toEqual([{ 200: N }, { 200: N }, { 200: 400 }]);

    const stats = rg.sdks.stats();
    expect(stats.instances).toBe(500);
    const checkout = rg.sdks.list().filter((i) => i.appName === 'checkout');
    expect(checkout.length).toBeLessThanOrEqual(200);
    expect(checkout.map((i) => i.instanceId)).toContain('checkout-7f9c-pod-1');
    expect(stats.refused.invalid).toBe(400);
    // Each new id beyond a cap replaced an unproven one: nothing real was refused or replaced.
    expect(stats.evicted.unproven).toBe(2 * N + 1 - stats.instances);
    expect(stats.evicted.idle).toBe(0);
    expect(stats.refused.app_full + stats.refused.registry_full).toBe(0);
    expect(stats.unproven).toBe(stats.instances - 1);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metric(metrics, 'rollgate_sdk_instances_refused_total', 'invalid')).toBe(400);
    expect(metric(metrics, 'rollgate_sdk_instances_evicted_total', 'unproven')).toBe(stats.evicted.unproven);
    expect(metrics).toContain(`rollgate_sdk_instances{state="unproven"} ${stats.unproven}`);
    expect(metrics).toContain('rollgate_sdk_instances{state="proven"} 1');

    // The table holds what memory holds, not the flood.
    rg.flushSdkInstances();
    const rows = rg.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM sdk_instances').get();
    expect(rows?.n).toBe(stats.instances);

    // Past 3× the fakes' announced interval: every fake is stale, the real SDK polls on.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const audit = await admin('GET', 'audit');
    expect(audit.status).toBe(200);
    const reach = (audit.body.checks as AuditCheck[]).filter((c) => c.check.startsWith('sdk-reach'));
    expect(reach.filter((c) => c.status === 'fail')).toEqual([]);
    expect(reach.find((c) => c.subject === 'checkout/checkout-7f9c-pod-1')?.status).toBe('pass');
    expect(reach.filter((c) => c.check === 'sdk-reach')).toHaveLength(1);
    const ignored = reach.find((c) => c.check === 'sdk-reach.unproven');
    expect(ignored).toMatchObject({
      status: 'warn',
      numbers: { instancesUnproven: 499, instancesJudged: 1, refusedInvalid: 400 },
    });
    expect(ignored?.summary).toContain(`${stats.unproven} SDK instance(s)`);
    expect(ignored?.summary).toContain('made a single request and were not judged');

    // A drill waits for the real SDK only, and passes.
    const started = await admin('POST', 'drill', { timeout: '5s' });
    expect(started.status).toBe(202);
    let drill: DrillRun;
    for (;;) {
      drill = (await admin('GET', 'drill')).body.drill;
      if (drill.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(drill.status).toBe('passed');
    expect(drill.instances.map((i) => i.instance)).toEqual(['checkout/checkout-7f9c-pod-1']);
  });
});
