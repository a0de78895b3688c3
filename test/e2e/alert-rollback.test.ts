import fs from 'node:fs';
import path from 'node:path';
import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { makeFlagsDir, testConfig, testTokens } from '../helpers/rollgate.ts';
import { nextEvent } from '../helpers/sdk-server.ts';

const plan = `
name: checkout.new-flow
description: The new checkout flow
owner: payments
type: release
stickiness: userId
rollout:
  stages: [{ percent: 50 }, { percent: 100 }]
  alerts:
    - { match: { alertname: CheckoutErrors, service: checkout } }
`;

const alertmanagerPayload = JSON.parse(
  fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/alerts/alertmanager-v4.json'), 'utf8'),
);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer() {
  const rg = createRollgate(testConfig({ flagsDir: makeFlagsDir([], { 'checkout.yaml': plan }) }), {
    log: silentLogger,
  });
  const { url } = await rg.start();
  cleanups.push(() => rg.stop());
  const post = async (route: string, token: string, body: unknown = {}) => {
    const res = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.ok).toBe(true);
    return (await res.json()) as { alerts: Array<{ matched: unknown[] }> };
  };
  return { rg, url, post };
}

describe('an alert rolls a flag back for streaming SDKs', () => {
  it('turns the flag off in a streaming unleash-client without waiting for a poll', async () => {
    const { url, post } = await startServer();
    await post('/api/admin/flags/checkout.new-flow/rollout/start', testTokens.admin);
    await post('/api/admin/flags/checkout.new-flow/rollout/promote', testTokens.admin, { to: 'full' });

    const unleash = new Unleash({
      url: `${url}/api/`,
      appName: 'checkout',
      customHeaders: { Authorization: testTokens.client },
      // A poll would come after ten minutes: a change seen sooner was pushed over the stream.
      refreshInterval: 600_000,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider(),
      skipInstanceCountWarning: true,
      experimentalMode: { type: 'streaming' },
    });
    cleanups.push(() => unleash.destroy());
    const modes: unknown[] = [];
    unleash.on(UnleashEvents.Mode, (m) => modes.push(m));
    unleash.on(UnleashEvents.Error, () => {});
    await nextEvent(unleash, UnleashEvents.Synchronized);
    const users = ['u-1', 'u-2', 'u-3', 'u-4'];
    expect(users.map((userId) => unleash.isEnabled('checkout.new-flow', { userId }))).toEqual([
      true,
      true,
      true,
      true,
    ]);

    const changed = nextEvent(
      unleash,
      UnleashEvents.Changed,
      () => !unleash.isEnabled('checkout.new-flow', { userId: 'u-1' }),
    );
    const answer = await post('/api/alerts/alertmanager', testTokens.alert, alertmanagerPayload);
    expect(answer.alerts[0]?.matched).toMatchObject([{ flag: 'checkout.new-flow', outcome: 'rolled-back' }]);
    await changed;

    expect(users.map((userId) => unleash.isEnabled('checkout.new-flow', { userId }))).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(modes).toEqual([]);
  });
});
