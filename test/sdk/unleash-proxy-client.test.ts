import { InMemoryStorageProvider, UnleashClient } from 'unleash-proxy-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServedEvaluator } from '../../src/http/served-evaluator.ts';
import { type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

let server: SdkServer;
let client: UnleashClient | undefined;

beforeEach(async () => {
  server = await startSdkServer();
});
afterEach(async () => {
  client?.stop();
  client = undefined;
  await server.stop();
});

function browserClient(opts: { userId: string; usePOSTrequests?: boolean }) {
  return new UnleashClient({
    url: `${server.url}/api/frontend`,
    clientKey: server.tokens.frontend,
    appName: 'web-test',
    fetch,
    storageProvider: new InMemoryStorageProvider(),
    disableRefresh: true,
    metricsIntervalInitial: 0,
    usePOSTrequests: opts.usePOSTrequests ?? false,
    context: { userId: opts.userId, properties: { region: 'eu' } },
  });
}

describe('unleash-proxy-client 3.8.2 against /api/frontend', () => {
  it('gets the enabled toggles for its context with the variant Rollgate itself evaluates', async () => {
    await server.admin('flags/xcheck.p25/rollout/start');
    const own = createServedEvaluator({ served: server.rg.served, random: Math.random, now: Date.now });
    // Find a user inside the 25 % so the variant is a real one.
    const userId = Array.from({ length: 100 }, (_, i) => `web-${i}`).find(
      (id) => own.current().evaluator.evaluate('xcheck.p25', { userId: id }).enabled,
    );
    expect(userId).toBeDefined();
    client = browserClient({ userId: userId as string });
    await client.start();

    expect(client.isEnabled('demo.kill')).toBe(true);
    expect(client.isEnabled('demo.targeted')).toBe(true);
    expect(client.isEnabled('demo.toggle')).toBe(false);
    const expected = own.current().evaluator.evaluate('xcheck.p25', { userId: userId as string }).variant;
    expect(client.getVariant('xcheck.p25')).toMatchObject({ name: expected.name, enabled: true });
    // Only enabled toggles travel to the browser.
    expect(client.getAllToggles().every((t) => t.enabled)).toBe(true);
    expect(client.getAllToggles().map((t) => t.name)).not.toContain('demo.toggle');
  });

  it('follows a context change and a kill switch, over GET and over POST', async () => {
    for (const usePOSTrequests of [false, true]) {
      client = browserClient({ userId: 'someone', usePOSTrequests });
      await client.start();
      expect(client.isEnabled('demo.targeted')).toBe(true);
      await client.updateContext({ userId: 'someone', properties: { region: 'us' } });
      expect(client.isEnabled('demo.targeted')).toBe(false);
      await server.admin('flags/demo.toggle/enable');
      await client.updateToggles();
      expect(client.isEnabled('demo.toggle')).toBe(true);
      await server.admin('flags/demo.toggle/disable');
      client.stop();
    }
  });

  it('sends its metrics to /api/frontend/client/metrics, stored as exposure signals', async () => {
    client = browserClient({ userId: 'metrics-user' });
    await client.start();
    for (let i = 0; i < 3; i++) client.isEnabled('demo.kill');
    await client.sendMetrics();
    const rows = server.rg.db
      .prepare<[], { count: number }>(
        `SELECT SUM(count) AS count FROM signal_buckets WHERE flag = 'demo.kill' AND metric = 'exposures'`,
      )
      .all();
    expect(rows[0]?.count).toBe(3);
  });
});
