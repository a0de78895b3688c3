import { InMemStorageProvider, Unleash, UnleashEvents } from 'unleash-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServedEvaluator, type ServedEvaluator } from '../../src/http/served-evaluator.ts';
import { crossCheckFlags, nextEvent, type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

const USERS = 10_000;
/** Mostly ASCII ids, with non-ASCII ones mixed in: the SDK hashes UTF-16 code units, not UTF-8 bytes. */
const userIds = Array.from({ length: USERS }, (_, i) =>
  i % 10 === 0 ? `üser-${i}-名前` : i % 10 === 1 ? `${i}-🚀` : `user-${i}`,
);

let server: SdkServer;
let unleash: Unleash;
let own: ServedEvaluator;

beforeAll(async () => {
  server = await startSdkServer();
  for (const flag of crossCheckFlags) await server.admin(`flags/${flag}/rollout/start`);
  unleash = new Unleash({
    url: `${server.url}/api/`,
    appName: 'cross-check',
    customHeaders: { Authorization: server.tokens.client },
    refreshInterval: 600_000,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
  });
  await nextEvent(unleash, UnleashEvents.Synchronized);
  own = createServedEvaluator({ served: server.rg.served, random: Math.random, now: Date.now });
});
afterAll(async () => {
  unleash.destroy();
  await server.stop();
});

describe('unleash-client against Rollgate agrees with Rollgate’s own evaluation', () => {
  it.each(crossCheckFlags.map((flag) => [flag]))('%s: isEnabled and getVariant for 10,000 users', (flag) => {
    const percent = Number(server.rg.served.current().byName.get(flag)?.strategies[0]?.parameters?.rollout);
    expect(percent).toBe(Number(flag.slice('xcheck.p'.length)));
    const { evaluator } = own.current();
    const mismatches: string[] = [];
    let enabled = 0;
    const variantsSeen = new Set<string>();
    for (const userId of userIds) {
      const context = { userId };
      const ours = evaluator.evaluate(flag, context);
      const sdkEnabled = unleash.isEnabled(flag, context);
      const sdkVariant = unleash.getVariant(flag, context);
      if (ours.enabled) enabled += 1;
      if (ours.variant.enabled) variantsSeen.add(ours.variant.name);
      const same =
        sdkEnabled === ours.enabled &&
        sdkVariant.name === ours.variant.name &&
        sdkVariant.enabled === ours.variant.enabled &&
        sdkVariant.feature_enabled === ours.variant.feature_enabled &&
        sdkVariant.payload?.value === ours.variant.payload?.value;
      if (!same && mismatches.length < 5)
        mismatches.push(`${userId}: sdk ${sdkVariant.name}, ours ${ours.variant.name}`);
    }
    expect(mismatches).toEqual([]);
    // Every variant of the plan is served to someone, so getVariant was compared on real splits.
    expect(variantsSeen.size).toBe(server.rg.served.current().byName.get(flag)?.variants?.length ?? 0);
    // The served percent really is in force: within a few points of it over 10,000 users.
    expect(Math.abs((enabled / USERS) * 100 - percent)).toBeLessThan(2);
  });
});
