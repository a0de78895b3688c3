// Server-side evaluation of the served features (frontend API, OFREP): one compiled evaluator per revision.
import { createEvaluator, type Evaluator } from '../evaluation/evaluate.ts';
import type { UnleashContext } from '../evaluation/types.ts';
import type { ServedDocument, ServedFeatures } from '../rollout/served.ts';

/** Context fields the SDKs read at the top level; anything else is a custom property. */
const topLevel = new Set(['userId', 'sessionId', 'remoteAddress', 'environment', 'appName', 'currentTime']);

const asString = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/**
 * Builds an Unleash context from loose input (query parameters, a JSON body, an OFREP context). Values that
 * are not scalars are dropped: no constraint can match them. `properties[x]` (as browser SDKs send it in the
 * query string) and a nested `properties` object both become properties.
 */
export function toUnleashContext(raw: Record<string, unknown>): UnleashContext {
  const context: UnleashContext = {};
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        const s = asString(v);
        if (s !== undefined) properties[k] = s;
      }
      continue;
    }
    const s = asString(value);
    if (s === undefined) continue;
    const bracketed = /^properties\[(.+)\]$/.exec(key);
    if (bracketed?.[1]) properties[bracketed[1]] = s;
    else if (topLevel.has(key)) context[key] = s;
    else properties[key] = s;
  }
  if (Object.keys(properties).length) context.properties = properties;
  return context;
}

export type ServedEvaluator = ReturnType<typeof createServedEvaluator>;

export function createServedEvaluator(deps: {
  served: ServedFeatures;
  random: () => number;
  now: () => number;
}) {
  let compiled: { doc: ServedDocument; evaluator: Evaluator } | undefined;
  return {
    /** The current document with its evaluator, compiled on first use after a change. */
    current(): { doc: ServedDocument; evaluator: Evaluator } {
      const doc = deps.served.current();
      if (compiled?.doc !== doc) {
        compiled = {
          doc,
          evaluator: createEvaluator(doc.features, { random: deps.random, now: deps.now, segments: [] }),
        };
      }
      return compiled;
    },
  };
}
