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

function deltaClient(refreshInterval: number) {
  return new Unleash({
    url: `${server.url}/api/`,
    appName: 'delta-test',
    customHeaders: { Authorization: server.tokens.client },
    refreshInterval,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    experimentalMode: { type: 'polling', format: 'delta' },
  });
}

describe('unleash-client 6.12.1 in delta polling mode against Rollgate', () => {
  it('hydrates, gets 304s while nothing changes, and applies each change as a delta', async () => {
    unleash = deltaClient(100);
    const problems: unknown[] = [];
    unleash.on(UnleashEvents.Warn, (w) => problems.push(w));
    unleash.on(UnleashEvents.Error, (e) => problems.push(e));
    await nextEvent(unleash, UnleashEvents.Synchronized);
    expect(unleash.isEnabled('demo.kill')).toBe(true);
    expect(unleash.isEnabled('demo.toggle')).toBe(false);
    expect(unleash.isEnabled('demo.targeted', { properties: { region: 'EU' } })).toBe(true);
    const all = server.rg.served.current().features.map((f) => f.name);
    expect(
      unleash
        .getFeatureToggleDefinitions()
        .map((f) => f.name)
        .sort(),
    ).toEqual([...all].sort());
    // The SDK echoed our revision ETag and we answered "unchanged".
    await nextEvent(unleash, UnleashEvents.Unchanged);

    await server.admin('flags/demo.toggle/enable', { reason: 'delta test' });
    await nextEvent(unleash, UnleashEvents.Changed);
    expect(unleash.isEnabled('demo.toggle')).toBe(true);
    // The delta touched one flag; the others the SDK still holds from the hydration.
    expect(unleash.getFeatureToggleDefinitions().length).toBe(all.length);
    expect(unleash.isEnabled('demo.kill')).toBe(true);

    await server.admin('flags/demo.kill/disable', { reason: 'kill switch over delta' });
    await nextEvent(unleash, UnleashEvents.Changed);
    expect(unleash.isEnabled('demo.kill')).toBe(false);
    await nextEvent(unleash, UnleashEvents.Unchanged);
    expect(problems).toEqual([]);
  });
});
