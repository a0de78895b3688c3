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

function pollingClient(refreshInterval: number) {
  return new Unleash({
    url: `${server.url}/api/`,
    appName: 'polling-test',
    customHeaders: { Authorization: server.tokens.client },
    refreshInterval,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
}

describe('unleash-client 6.12.1 polling Rollgate', () => {
  it('reads every served flag with the SDK reporting no validation errors', async () => {
    unleash = pollingClient(60_000);
    const errors: unknown[] = [];
    unleash.on(UnleashEvents.Error, (e) => errors.push(e));
    await nextEvent(unleash, UnleashEvents.Synchronized);
    expect(unleash.isEnabled('demo.kill')).toBe(true);
    expect(unleash.isEnabled('demo.toggle')).toBe(false);
    expect(unleash.isEnabled('demo.targeted', { properties: { region: 'EU' } })).toBe(true);
    expect(unleash.isEnabled('demo.targeted', { properties: { region: 'us' } })).toBe(false);
    expect(unleash.getFeatureToggleDefinitions().map((f) => f.name)).toContain('xcheck.p25');
    expect(errors).toEqual([]);
  });

  it('sees a toggle turned on at the first poll after the change, and gets 304s while nothing changes', async () => {
    unleash = pollingClient(150);
    const responses: string[] = [];
    unleash.on(UnleashEvents.Unchanged, () => responses.push('304'));
    unleash.on(UnleashEvents.Changed, () => responses.push('200'));
    await nextEvent(unleash, UnleashEvents.Synchronized);
    // Two polls answered 304: the SDK sent our ETag back and we honoured it.
    await nextEvent(unleash, UnleashEvents.Unchanged);
    await nextEvent(unleash, UnleashEvents.Unchanged);
    expect(unleash.isEnabled('demo.toggle')).toBe(false);

    await server.admin('flags/demo.toggle/enable', { reason: 'polling test' });
    const pollsBefore = responses.length;
    await nextEvent(unleash, UnleashEvents.Changed);
    expect(unleash.isEnabled('demo.toggle')).toBe(true);
    // The very next answer after the change was the new document: seen within one refresh.
    expect(responses.slice(pollsBefore)).toEqual(['200']);
    expect(responses.filter((r) => r === '304').length).toBeGreaterThanOrEqual(2);
  });
});
