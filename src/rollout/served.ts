// Plans and rollout state as Unleash client-API features, and the served document rebuilt once per change.
import { createHash } from 'node:crypto';
import type {
  ClientFeaturesResponse,
  UnleashConstraint,
  UnleashFeature,
  UnleashVariant,
} from '../evaluation/types.ts';
import type { Plan } from '../plans/schema.ts';
import type { Controller, Flag } from './controller.ts';

/** Unleash spreads variant weights over 1000 and sends them as integers. */
const TOTAL_WEIGHT = 1000;
/** Enough revisions to resume an SDK that reconnects after a short outage without a full hydration. */
const HISTORY = 256;

export interface ServedDocument {
  /** Grows with every change of the features; tied to the event log so it keeps growing across restarts. */
  revision: number;
  /** Strong ETag: a hash of exactly `body`. */
  etag: string;
  /** The `GET /api/client/features` body, serialized once. */
  body: string;
  features: readonly UnleashFeature[];
  byName: ReadonlyMap<string, UnleashFeature>;
}

export interface ServedDelta {
  updated: UnleashFeature[];
  removed: string[];
}

export type ServedFeatures = ReturnType<typeof createServedFeatures>;

/** Unleash's own split: equal shares, the remainder to the first variants; then sorted by name. */
export function variantWeights(weights: readonly number[]): number[] {
  const equal = weights.every((w) => w === weights[0]);
  if (equal && weights.length > 0) {
    const share = Math.floor(TOTAL_WEIGHT / weights.length);
    const remainder = TOTAL_WEIGHT % weights.length;
    return weights.map((_, i) => share + (i < remainder ? 1 : 0));
  }
  // Uneven percentages: largest remainder, so the integers still sum to exactly 1000.
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  const exact = weights.map((w) => (w / total) * TOTAL_WEIGHT);
  const result = exact.map(Math.floor);
  let left = TOTAL_WEIGHT - result.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => ({ i, frac: e - Math.floor(e) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    result[i] = (result[i] ?? 0) + 1;
    left -= 1;
  }
  return result;
}

function servedVariants(plan: Plan): UnleashVariant[] {
  const variants = plan.variants ?? [];
  const weights = variantWeights(variants.map((v) => v.weight));
  return variants
    .map((v, i) => {
      const served: UnleashVariant = {
        name: v.name,
        weight: weights[i] ?? 0,
        weightType: 'variable',
        stickiness: v.stickiness ?? plan.stickiness,
        overrides: [],
      };
      if (v.payload) served.payload = { type: v.payload.type, value: v.payload.value };
      return served;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

function servedConstraint(c: Plan['constraints'][number]): UnleashConstraint {
  const served: UnleashConstraint = {
    contextName: c.contextName,
    operator: c.operator,
    values: c.values ?? [],
    inverted: c.inverted ?? false,
    caseInsensitive: c.caseInsensitive ?? false,
  };
  if (c.value !== undefined) served.value = c.value;
  return served;
}

/** Off (kill switch, rolled back, not started) is `enabled: false`; on is a flexibleRollout at the served percent. */
export function toUnleashFeature(flag: Flag): UnleashFeature {
  const { plan, percent } = flag;
  const feature: UnleashFeature = {
    name: plan.name,
    type: plan.type,
    description: plan.description,
    project: 'default',
    enabled: flag.state.enabled && percent > 0,
    stale: false,
    impressionData: false,
    strategies: [
      {
        name: 'flexibleRollout',
        id: `${plan.name}-rollout`,
        sortOrder: 0,
        constraints: plan.constraints.map(servedConstraint),
        parameters: { rollout: String(percent), stickiness: plan.stickiness, groupId: plan.name },
        segments: [],
        variants: [],
      },
    ],
    variants: servedVariants(plan),
  };
  if (plan.dependencies?.length) {
    feature.dependencies = plan.dependencies.map((d) =>
      d.variants?.length
        ? { feature: d.flag, enabled: d.enabled, variants: d.variants }
        : { feature: d.flag, enabled: d.enabled },
    );
  }
  return feature;
}

export const strongEtag = (body: string) => `"${createHash('sha256').update(body).digest('base64url')}"`;

export function serializeDocument(features: readonly UnleashFeature[], revision: number, query = {}): string {
  const body: ClientFeaturesResponse & { meta: { revisionId: number } } = {
    version: 2,
    features: [...features],
    query: { inlineSegmentConstraints: true, ...query },
    segments: [],
    meta: { revisionId: revision },
  };
  return JSON.stringify(body);
}

/**
 * Keeps the served document current: rebuilt on every controller change, never per request, with a short
 * history of which features each revision touched so streaming clients can resume with a delta.
 */
export function createServedFeatures(deps: {
  controller: Controller;
  /** Features served beside the plans' (the rollback drill's flag while a drill runs). */
  extra?: () => readonly UnleashFeature[];
}) {
  const { controller } = deps;
  const featuresNow = () => [...controller.listFlags().map(toUnleashFeature), ...(deps.extra?.() ?? [])];
  const latestEventId = () => controller.events.list({ limit: 1 })[0]?.id ?? 0;
  const listeners = new Set<(doc: ServedDocument, delta: ServedDelta) => void>();
  const history: Array<{ revision: number; names: string[] }> = [];

  const build = (features: UnleashFeature[], revision: number): ServedDocument => {
    const body = serializeDocument(features, revision);
    const byName = new Map(features.map((f) => [f.name, f]));
    return { revision, etag: strongEtag(body), body, features, byName };
  };
  const serialize = (features: UnleashFeature[]) => new Map(features.map((f) => [f.name, JSON.stringify(f)]));

  /**
   * The features and the newest event id of one commit. Every change writes an event, so the revision is the
   * database's, not this process's: replicas that read the same commit serve the same body and strong ETag.
   */
  const read = () =>
    controller.snapshot(() => ({
      features: featuresNow(),
      revision: latestEventId(),
    }));

  const initial = read();
  let serialized = serialize(initial.features);
  let current = build(initial.features, initial.revision);
  const baseRevision = current.revision;
  // The newest event id the last read saw: most events (holds, drills, rejections) change nothing served, so
  // the revision stays behind it, and this, not the revision, tells whether there is anything new to read.
  let readUpTo = initial.revision;

  const refresh = () => {
    const { features, revision } = read();
    readUpTo = revision;
    const next = serialize(features);
    const names = new Set([...serialized.keys(), ...next.keys()]);
    const changed = [...names].filter((n) => serialized.get(n) !== next.get(n));
    if (!changed.length) return;
    serialized = next;
    // A change always comes with an event; the fallback only keeps the revision growing if one did not.
    current = build(features, revision > current.revision ? revision : current.revision + 1);
    history.push({ revision: current.revision, names: changed });
    if (history.length > HISTORY) history.shift();
    const delta = deltaOf(changed);
    for (const listener of listeners) listener(current, delta);
  };

  const deltaOf = (names: Iterable<string>): ServedDelta => {
    const updated: UnleashFeature[] = [];
    const removed: string[] = [];
    for (const name of names) {
      const feature = current.byName.get(name);
      if (feature) updated.push(feature);
      else removed.push(name);
    }
    return { updated, removed };
  };

  const unsubscribe = controller.onChange(refresh);

  return {
    current: () => current,
    /** Rebuilds if anything served changed: another replica's change (notification or check) or the drill flag. */
    refresh,
    /** Whether the database has events the last read did not see: one cheap query, before a full refresh. */
    behind: () => latestEventId() !== readUpTo,
    /** The changes after `revision`, or undefined when it is unknown here and the client needs everything. */
    deltaSince(revision: number): ServedDelta | undefined {
      if (!Number.isInteger(revision) || revision > current.revision) return undefined;
      const oldestResumable =
        history.length === HISTORY ? (history[0]?.revision ?? baseRevision) : baseRevision;
      if (revision < oldestResumable) return undefined;
      const names = new Set<string>();
      for (const entry of history) if (entry.revision > revision) for (const n of entry.names) names.add(n);
      return deltaOf(names);
    },
    onUpdate(listener: (doc: ServedDocument, delta: ServedDelta) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => unsubscribe(),
  };
}
