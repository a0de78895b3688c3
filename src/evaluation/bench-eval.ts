// Benchmark: Rollgate's evaluator against unleash-client's isEnabled + getVariant on the same flags.

import type { Context } from 'unleash-client';
import { seededRandom } from '../random.ts';
import { createEvaluator } from './evaluate.ts';
import { bootstrappedSdk } from './sdk-peer.ts';
import type {
  UnleashContext,
  UnleashFeature,
  UnleashSegment,
  UnleashStrategy,
  UnleashVariant,
} from './types.ts';

const USERS = Number(process.env.BENCH_USERS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const rollout = (name: string, percent: number, extra: Partial<UnleashStrategy> = {}): UnleashStrategy => ({
  name: 'flexibleRollout',
  parameters: { rollout: String(percent), stickiness: 'userId', groupId: name },
  constraints: [],
  ...extra,
});
const flag = (
  name: string,
  strategies: UnleashStrategy[],
  extra: Partial<UnleashFeature> = {},
): UnleashFeature => ({
  name,
  type: 'release',
  project: 'default',
  enabled: true,
  stale: false,
  impressionData: false,
  strategies,
  variants: [],
  ...extra,
});
const variant = (name: string, weight: number, extra: Partial<UnleashVariant> = {}): UnleashVariant => ({
  name,
  weight,
  weightType: 'variable',
  stickiness: 'userId',
  payload: { type: 'json', value: JSON.stringify({ offer: name }) },
  ...extra,
});

const segments: UnleashSegment[] = [
  {
    id: 1,
    name: 'beta-markets',
    constraints: [
      { contextName: 'country', operator: 'IN', values: ['NO', 'SE', 'DK'] },
      { contextName: 'plan', operator: 'IN', values: ['pro', 'enterprise'] },
    ],
  },
];
const webProd = [
  { contextName: 'appName', operator: 'IN', values: ['web', 'ios'] },
  { contextName: 'environment', operator: 'IN', values: ['production'] },
];

const features: UnleashFeature[] = [
  flag('kill-switch', [{ name: 'default', parameters: {}, constraints: [] }]),
  ...[5, 10, 25, 50, 100].map((p) => flag(`rollout-${p}`, [rollout(`rollout-${p}`, p)])),
  flag('web-prod-30', [rollout('web-prod-30', 30, { constraints: webProd })]),
  flag('beta-markets-50', [rollout('beta-markets-50', 50, { segments: [1] })]),
  flag('pricing-offer', [rollout('pricing-offer', 20)], {
    variants: [variant('control', 500), variant('discount-10', 250), variant('discount-20', 250)],
  }),
  flag('checkout-ab', [
    rollout('checkout-ab', 100, { variants: [variant('control', 500), variant('one-page', 500)] }),
  ]),
  flag('staff-first', [
    {
      name: 'userWithId',
      parameters: { userIds: Array.from({ length: 20 }, (_, i) => `user-${i * 97}`).join(',') },
    },
    rollout('staff-first', 10),
  ]),
  flag('acme-only', [
    rollout('acme-only', 100, {
      constraints: [
        { contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@ACME.IO'], caseInsensitive: true },
      ],
    }),
  ]),
  flag('new-app-40', [
    rollout('new-app-40', 40, {
      constraints: [{ contextName: 'appVersion', operator: 'SEMVER_GTE', value: '2.3.0' }],
    }),
  ]),
  flag('adults-60', [
    rollout('adults-60', 60, { constraints: [{ contextName: 'age', operator: 'NUM_GT', value: '18' }] }),
  ]),
  flag('named-emails', [
    rollout('named-emails', 100, {
      constraints: [{ contextName: 'email', operator: 'REGEX', value: '^[a-z]+\\.[a-z]+@' }],
    }),
  ]),
  flag('office-network', [
    rollout('office-network', 100, {
      constraints: [
        { contextName: 'remoteAddress', operator: 'IN_CIDR', values: ['10.0.0.0/8', '192.168.0.0/16'] },
      ],
    }),
  ]),
  flag('launched', [
    rollout('launched', 75, {
      constraints: [{ contextName: 'currentTime', operator: 'DATE_AFTER', value: '2024-01-01T00:00:00Z' }],
    }),
  ]),
  flag('switched-off', [rollout('switched-off', 100)], { enabled: false }),
  flag('needs-rollout-50', [rollout('needs-rollout-50', 100)], { dependencies: [{ feature: 'rollout-50' }] }),
  flag('banner-colour', [{ name: 'default', parameters: {}, constraints: [] }], {
    variants: [
      variant('blue', 500, {
        overrides: [{ contextName: 'userId', values: ['user-1', 'user-2', 'user-3'] }],
      }),
      variant('green', 500),
    ],
  }),
];

function buildContexts(count: number): UnleashContext[] {
  const random = seededRandom(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => ({
    userId: i % 50 === 0 ? `usér-${i}-日本` : `user-${i}`,
    sessionId: `session-${i}`,
    appName: pick(['web', 'ios', 'android']),
    environment: pick(['production', 'staging']),
    remoteAddress: pick(['10.1.2.3', '192.168.4.5', '81.2.69.160', '2001:db8::1']),
    properties: {
      country: pick(['NO', 'SE', 'DK', 'DE', 'US']),
      plan: pick(['free', 'pro', 'enterprise']),
      email: pick([`ann.lee${i}@acme.io`, `bob${i}@example.com`, `cy.d@ACME.IO`]),
      appVersion: pick(['2.2.9', '2.3.0', '2.10.1', '3.0.0-beta.1']),
      age: String(10 + Math.floor(random() * 60)),
    },
  }));
}

function perSecond(evaluations: number, nanoseconds: bigint): number {
  return evaluations / (Number(nanoseconds) / 1e9);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const contexts = buildContexts(USERS);
  // The same objects; our context type also admits the nulls JSON can carry, the SDK's does not.
  const sdkContexts = contexts as Context[];
  const names = features.map((f) => f.name);
  const sdk = await bootstrappedSdk('bench', features, segments);
  // A fixed clock: the one date constraint (after 2024-01-01) holds for it as for the SDK's real clock.
  const now = Date.parse('2026-01-01T00:00:00Z');
  const evaluator = createEvaluator(features, { segments, random: seededRandom(7), now: () => now });

  let mismatches = 0;
  let enabled = 0;
  for (const [i, context] of contexts.entries()) {
    for (const name of names) {
      const ours = evaluator.evaluate(name, context);
      const on = sdk.isEnabled(name, sdkContexts[i]);
      const v = sdk.getVariant(name, sdkContexts[i]);
      if (on) enabled++;
      const same =
        ours.enabled === on &&
        ours.variant.name === v.name &&
        ours.variant.enabled === v.enabled &&
        ours.variant.feature_enabled === v.feature_enabled &&
        JSON.stringify(ours.variant.payload) === JSON.stringify(v.payload);
      if (!same) mismatches++;
    }
  }

  const pairs = contexts.length * names.length;
  const time = (body: () => void): number => {
    const start = process.hrtime.bigint();
    body();
    return perSecond(pairs, process.hrtime.bigint() - start);
  };
  const sdkBoth = () => {
    for (const context of sdkContexts) {
      for (const name of names) {
        sdk.isEnabled(name, context);
        sdk.getVariant(name, context);
      }
    }
  };
  const sdkEnabledOnly = () => {
    for (const context of sdkContexts) for (const name of names) sdk.isEnabled(name, context);
  };
  const ours = () => {
    for (const context of contexts) for (const name of names) evaluator.evaluate(name, context);
  };

  const runs = { sdkBoth: [] as number[], sdkEnabledOnly: [] as number[], ours: [] as number[] };
  sdkBoth();
  sdkEnabledOnly();
  ours();
  for (let round = 0; round < ROUNDS; round++) {
    runs.sdkBoth.push(time(sdkBoth));
    runs.sdkEnabledOnly.push(time(sdkEnabledOnly));
    runs.ours.push(time(ours));
  }
  sdk.destroy();

  const sdkRate = median(runs.sdkBoth);
  const sdkEnabledRate = median(runs.sdkEnabledOnly);
  const ourRate = median(runs.ours);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(
    `features: ${names.length}, contexts: ${contexts.length}, evaluations per round: ${pairs}, rounds: ${ROUNDS}`,
  );
  console.log(`checked ${pairs} evaluations (${enabled} enabled): ${mismatches} mismatches`);
  console.log(`unleash-client isEnabled+getVariant: ${fmt(sdkRate)} evaluations/s`);
  console.log(`unleash-client isEnabled only:       ${fmt(sdkEnabledRate)} evaluations/s`);
  console.log(`rollgate evaluate (both answers):    ${fmt(ourRate)} evaluations/s`);
  console.log(`ratio vs isEnabled+getVariant: ${(ourRate / sdkRate).toFixed(2)}x`);
  console.log(`ratio vs isEnabled only:       ${(ourRate / sdkEnabledRate).toFixed(2)}x`);
  if (mismatches > 0) process.exitCode = 1;
}

await main();
