import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent, type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

let server: SdkServer;
let unleash: Unleash | undefined;

beforeEach(async () => {
  server = await startSdkServer();
});
afterEach(async () => {
  unleash?.destroy();
  unleash = undefined;
  await server.stop();
});

type Row = { flag: string; arm: string; metric: string; count: number; sum: number };

function storedSignals(): Row[] {
  return server.rg.db
    .prepare<[], Row>(
      `SELECT flag, arm, metric, SUM(count) AS count, SUM(sum) AS sum FROM signal_buckets
       GROUP BY flag, arm, metric ORDER BY flag, arm, metric`,
    )
    .all();
}

describe('unleash-client 6.12.1 metrics sent to Rollgate', () => {
  it('stores exposure counts per arm and impact metrics per flag arm as health signals', async () => {
    await server.admin('flags/xcheck.p50/rollout/start');
    unleash = new Unleash({
      url: `${server.url}/api/`,
      appName: 'metrics-test',
      customHeaders: { Authorization: server.tokens.client },
      refreshInterval: 60_000,
      metricsInterval: 600_000,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
    });
    const warnings: unknown[] = [];
    unleash.on(UnleashEvents.Warn, (w) => warnings.push(w));
    await nextEvent(unleash, UnleashEvents.Synchronized);

    for (let i = 0; i < 5; i++) unleash.isEnabled('demo.kill', { userId: `u${i}` });
    const arms = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const v = unleash.getVariant('xcheck.p50', { userId: `user-${i}` });
      const arm = v.enabled ? v.name : 'control';
      arms.set(arm, (arms.get(arm) ?? 0) + 1);
    }
    unleash.impactMetrics.defineCounter('rollgate_requests_total', 'requests served');
    unleash.impactMetrics.defineCounter('rollgate_errors_total', 'requests failed');
    unleash.impactMetrics.defineHistogram('rollgate_latency_ms', 'latency', [10, 50, 100]);
    const flagContext = { flagNames: ['demo.kill'], context: { userId: 'u1' } };
    unleash.impactMetrics.incrementCounter('rollgate_requests_total', 40, flagContext);
    unleash.impactMetrics.incrementCounter('rollgate_errors_total', 3, flagContext);
    unleash.impactMetrics.observeHistogram('rollgate_latency_ms', 42, flagContext);

    const sent = nextEvent(unleash, UnleashEvents.Sent);
    await unleash.flushMetrics();
    await sent;
    const rows = storedSignals();

    expect(rows).toContainEqual(
      expect.objectContaining({ flag: 'demo.kill', arm: 'treatment', metric: 'exposures' }),
    );
    const exposures = rows.filter((r) => r.flag === 'xcheck.p50' && r.metric === 'exposures');
    expect(new Map(exposures.map((r) => [r.arm, r.count]))).toEqual(arms);
    // The SDK labels impact metrics with the flag's state for that context: demo.kill is on, so treatment.
    expect(rows).toContainEqual({ flag: 'demo.kill', arm: 'treatment', metric: 'errors', count: 40, sum: 3 });
    expect(rows).toContainEqual(
      expect.objectContaining({ flag: 'demo.kill', arm: 'treatment', metric: 'latency', count: 1, sum: 42 }),
    );
    expect(warnings).toEqual([]);
  });
});
