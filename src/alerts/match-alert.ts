// Which flags an alert's labels point at: a plan's alert matchers, or an explicit rollgate_flag label. Pure.
import { RE2JS } from 're2js';

/** The part of a plan matching needs; structural, so alerts/ does not depend on plans/. */
export interface MatchablePlan {
  name: string;
  rollout?: {
    alerts: ReadonlyArray<{ match?: Record<string, string>; matchRe?: Record<string, string> }>;
  };
}

export interface AlertMatch {
  flag: string;
  /** Why it matched, for the operator: the label, or the matcher's path in the plan file. */
  by: string;
}

export const flagLabel = 'rollgate_flag';

/**
 * Matchers follow Alertmanager's semantics: every listed label must equal (`match`) or fully match
 * (`matchRe`, RE2 syntax, anchored at both ends) its value, and a missing label counts as the empty string.
 * A plan is matched at most once, by its first matching matcher.
 */
export function matchAlert(labels: Record<string, string>, plans: readonly MatchablePlan[]): AlertMatch[] {
  const matches: AlertMatch[] = [];
  const named = labels[flagLabel];
  for (const plan of plans) {
    if (named !== undefined && named === plan.name) {
      matches.push({ flag: plan.name, by: `label ${flagLabel}` });
      continue;
    }
    const index = (plan.rollout?.alerts ?? []).findIndex((m) => matcherHolds(labels, m));
    if (index >= 0) matches.push({ flag: plan.name, by: `rollout.alerts[${index}]` });
  }
  return matches;
}

function matcherHolds(
  labels: Record<string, string>,
  m: { match?: Record<string, string>; matchRe?: Record<string, string> },
): boolean {
  const equal = Object.entries(m.match ?? {});
  const regex = Object.entries(m.matchRe ?? {});
  // An empty matcher would match every alert; plan validation rejects it, and here it matches nothing.
  if (equal.length + regex.length === 0) return false;
  for (const [label, value] of equal) if ((labels[label] ?? '') !== value) return false;
  for (const [label, pattern] of regex) {
    const re = compiled(pattern);
    if (!re?.testExact(labels[label] ?? '')) return false;
  }
  return true;
}

// Plans change rarely and patterns repeat on every alert, so each is compiled once.
const cache = new Map<string, RE2JS | null>();

function compiled(pattern: string): RE2JS | null {
  let re = cache.get(pattern);
  if (re === undefined) {
    try {
      re = RE2JS.compile(pattern);
    } catch {
      // A pattern JavaScript accepts but RE2 does not (lookaround, backreferences) cannot match.
      re = null;
    }
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}
