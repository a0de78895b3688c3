import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextEvent, type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

let server: SdkServer;
let unleash: Unleash | undefined;

beforeEach(async () => {
  server = await startSdkServer({ heartbeatMs: 50 });
});
afterEach(async () => {
  unleash?.destroy();
  unleash = undefined;
  await server.stop();
});

function streamingClient() {
  return new Unleash({
    url: `${server.url}/api/`,
    appName: 'streaming-test',
    customHeaders: { Authorization: server.tokens.client },
    // Polling would take ten minutes: anything seen sooner was pushed.
    refreshInterval: 600_000,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    experimentalMode: { type: 'streaming' },
  });
}

describe('unleash-client 6.12.1 in streaming mode against Rollgate', () => {
  it('hydrates from the stream, then sees a kill switch and a rollout the moment they happen', async () => {
    unleash = streamingClient();
    const warnings: unknown[] = [];
    unleash.on(UnleashEvents.Warn, (w) => warnings.push(w));
    unleash.on(UnleashEvents.Error, (e) => warnings.push(e));
    await nextEvent(unleash, UnleashEvents.Synchronized);
    expect(server.rg.streaming.clients()).toBe(1);
    expect(unleash.isEnabled('demo.kill')).toBe(true);

    const killed = nextEvent(unleash, UnleashEvents.Changed);
    await server.admin('flags/demo.kill/disable', { reason: 'incident' });
    await killed;
    expect(unleash.isEnabled('demo.kill')).toBe(false);
    // The dependent flag follows its parent in the SDK's own evaluation.
    expect(unleash.isEnabled('demo.targeted', { properties: { region: 'eu' } })).toBe(false);

    const started = nextEvent(unleash, UnleashEvents.Changed);
    await server.admin('flags/xcheck.p99/rollout/start');
    await started;
    expect(unleash.getFeatureToggleDefinition('xcheck.p99')?.strategies?.[0]?.parameters?.rollout).toBe('99');

    const rolledBack = nextEvent(unleash, UnleashEvents.Changed);
    await server.admin('flags/xcheck.p99/rollout/rollback', { reason: 'regression' });
    await rolledBack;
    expect(unleash.isEnabled('xcheck.p99', { userId: 'u-1' })).toBe(false);
    expect(server.rg.streaming.clients()).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('keeps the stream open across heartbeats without falling back to polling', async () => {
    unleash = streamingClient();
    const modes: unknown[] = [];
    unleash.on(UnleashEvents.Mode, (m) => modes.push(m));
    await nextEvent(unleash, UnleashEvents.Synchronized);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const enabled = nextEvent(unleash, UnleashEvents.Changed);
    await server.admin('flags/demo.toggle/enable');
    await enabled;
    expect(unleash.isEnabled('demo.toggle')).toBe(true);
    expect(modes).toEqual([]);
    expect(server.rg.streaming.clients()).toBe(1);
  });
});
