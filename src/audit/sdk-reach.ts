// SDK reach: would every SDK instance seen recently see a rollback now? And is any plan fetched by no SDK at all?
import { isProven, provenRequests, type RegistryStats, type SdkInstance } from '../sdk/instances.ts';
import type { AuditCheck } from './check.ts';

export const sdkReachDefaults = {
  /** Instances last seen longer ago than this are gone (scaled down, redeployed) and no longer checked. */
  recentMs: 3_600_000,
  /** A plan no SDK instance fetched within this long warns. */
  planWindowMs: 7 * 86_400_000,
  /** unleash-client's default refreshInterval, for instances that never announced theirs. */
  refreshIntervalMs: 15_000,
  /** An instance silent for this many refresh intervals would not see a rollback in time. */
  intervals: 3,
  /**
   * Unproven instances (one request) at least this many, and more than the proven ones, warn: a flood of invented
   * ids, or instances that crash right after their first request.
   */
  unprovenWarnAt: 10,
};

export const instanceLabel = (i: Pick<SdkInstance, 'appName' | 'instanceId'>) =>
  `${i.appName}/${i.instanceId}`;

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * One check per proven instance seen recently, a warning when none was, one per plan no SDK fetched, and a word
 * on the instances not judged. Only instances seen on at least two requests are judged (a real SDK registers and
 * polls at start): an id made up for one request, or a thousand of them, can neither fail the gate nor hide it.
 */
export function sdkReachChecks(input: {
  instances: readonly SdkInstance[];
  plans: readonly { name: string }[];
  now: number;
  recentMs?: number;
  planWindowMs?: number;
  /** The registry's counts (what it refused and dropped), reported with the instances not judged. */
  bounds?: RegistryStats;
}): AuditCheck[] {
  const { now } = input;
  const recentMs = input.recentMs ?? sdkReachDefaults.recentMs;
  const seen = input.instances.filter((i) => i.lastSeen >= now - recentMs);
  const recent = seen.filter(isProven);
  const unproven = seen.length - recent.length;
  const proven = input.instances.filter(isProven);
  const checks: AuditCheck[] = recent.map((i) => instanceCheck(i, now));
  if (!recent.length) {
    checks.push({
      check: 'sdk-reach',
      status: 'warn',
      summary: `No SDK instance was seen on ${provenRequests} requests or more in the last ${seconds(recentMs) / 60} min (${proven.length} such instance(s) known in all, ${unproven} seen recently on one request only): nobody can say whether a rollback would reach the services.`,
      numbers: {
        instancesRecent: 0,
        instancesKnown: proven.length,
        instancesUnproven: unproven,
        recentSeconds: seconds(recentMs),
      },
      action:
        'If services use Rollgate, check that they reach this server with a client token and send UNLEASH-INSTANCEID (unleash-client does).',
    });
  }
  const notJudged = notJudgedCheck(unproven, recent.length, recentMs, input.bounds);
  if (notJudged) checks.push(notJudged);
  // Plans fetched only by one-request ids are not fetched by anything anyone is shown to run.
  checks.push(...unfetchedPlans(proven, input.plans, now, input.planWindowMs));
  return checks;
}

/** What the audit did not judge, and why; nothing when it judged everything and the registry refused nothing. */
function notJudgedCheck(
  unproven: number,
  judged: number,
  recentMs: number,
  bounds: RegistryStats | undefined,
): AuditCheck | undefined {
  const refused = bounds ? Object.values(bounds.refused).reduce((a, b) => a + b, 0) : 0;
  const replaced = bounds ? bounds.evicted.unproven + bounds.evicted.idle : 0;
  if (!unproven && !refused && !replaced) return undefined;
  const flood = unproven >= sdkReachDefaults.unprovenWarnAt && unproven > judged;
  const registry = bounds
    ? ` Since start the registry refused ${refused} new id(s) (${bounds.refused.invalid} malformed, ${bounds.refused.app_full} with their app full, ${bounds.refused.registry_full} with the registry full) and replaced ${replaced} instance(s) to make room; it holds ${bounds.instances} (${bounds.unproven} unproven).`
    : '';
  return {
    check: 'sdk-reach.unproven',
    status: flood ? 'warn' : 'pass',
    summary: `${unproven} SDK instance(s) seen in the last ${seconds(recentMs) / 60} min made a single request and were not judged (a real SDK registers and polls at start; ${judged} instance(s) with ${provenRequests} requests or more were).${registry}`,
    numbers: {
      instancesUnproven: unproven,
      instancesJudged: judged,
      provenRequests,
      refusedInvalid: bounds?.refused.invalid ?? null,
      refusedAppFull: bounds?.refused.app_full ?? null,
      refusedRegistryFull: bounds?.refused.registry_full ?? null,
      replaced: bounds ? replaced : null,
    },
    action: flood
      ? "More one-request instance ids than real instances: someone holding a client token is inventing ids, or instances crash right after their first poll. Check the client tokens in use and the services' restarts; rollgate_sdk_instances_refused_total and _evicted_total on /metrics count the registry's side."
      : '',
  };
}

function instanceCheck(i: SdkInstance, now: number): AuditCheck {
  const subject = instanceLabel(i);
  const base = {
    revision: i.revision,
    lastFetchAt: iso(i.lastFetchAt),
    lastSeenAt: iso(i.lastSeen),
    connection: i.connection,
    sdkVersion: i.sdkVersion,
    streamOpen: i.streamOpen,
  };
  if (i.streamOpen) {
    return {
      check: 'sdk-reach',
      status: 'pass',
      subject,
      summary: `${subject} holds revision ${i.revision ?? 'none'} on an open stream: a rollback is pushed to it as it happens.`,
      numbers: base,
      action: '',
    };
  }
  const intervalMs = i.refreshIntervalMs ?? sdkReachDefaults.refreshIntervalMs;
  const limitMs = sdkReachDefaults.intervals * intervalMs;
  const numbers = {
    ...base,
    refreshIntervalSeconds: seconds(intervalMs),
    intervalAssumed: i.refreshIntervalMs === null,
    limitSeconds: seconds(limitMs),
    secondsSinceFetch: i.lastFetchAt === null ? null : seconds(now - i.lastFetchAt),
  };
  const interval = `${seconds(intervalMs)} s refresh interval${i.refreshIntervalMs === null ? ' (assumed: it never announced one)' : ''}`;
  if (i.lastFetchAt === null) {
    return {
      check: 'sdk-reach',
      status: 'fail',
      subject,
      summary: `${subject} registered or sent metrics ${seconds(now - i.lastSeen)} s ago but never fetched the features: it would not see a rollback.`,
      numbers,
      action: 'Check that the instance polls /api/client/features (or streams) with a client token.',
    };
  }
  const since = now - i.lastFetchAt;
  if (since > limitMs) {
    return {
      check: 'sdk-reach',
      status: 'fail',
      subject,
      summary: `${subject} last fetched ${seconds(since)} s ago (revision ${i.revision ?? 'none'}), more than ${sdkReachDefaults.intervals}× its ${interval} (${seconds(limitMs)} s): it would not see a rollback.`,
      numbers,
      action:
        'Check that the instance is running and can reach Rollgate (network, token, proxy). An instance stopped on purpose drops out of this check an hour after it was last seen.',
    };
  }
  return {
    check: 'sdk-reach',
    status: 'pass',
    subject,
    summary: `${subject} fetched revision ${i.revision ?? 'none'} ${seconds(since)} s ago, within ${sdkReachDefaults.intervals}× its ${interval}.`,
    numbers,
    action: '',
  };
}

/** A plan is fetched by an instance that polled or streamed within the window without a namePrefix that excludes it. */
function unfetchedPlans(
  instances: readonly SdkInstance[],
  plans: readonly { name: string }[],
  now: number,
  windowMs = sdkReachDefaults.planWindowMs,
): AuditCheck[] {
  const fetching = instances.filter((i) => i.lastFetchAt !== null && i.lastFetchAt >= now - windowMs);
  const days = Math.round(windowMs / 86_400_000);
  return plans.flatMap((plan): AuditCheck[] => {
    const by = fetching.filter((i) => !i.namePrefix || plan.name.startsWith(i.namePrefix));
    if (by.length) return [];
    return [
      {
        check: 'blind-spot.plan-not-fetched',
        status: 'warn',
        subject: plan.name,
        summary: `No SDK instance fetched ${plan.name} in the last ${days} days (${fetching.length} instance(s) fetched other flags or with a namePrefix that excludes it): its rollout changes nothing anyone runs.`,
        numbers: { instancesFetching: fetching.length, windowDays: days },
        action:
          'Remove the plan if no code reads the flag any more, or check the service that should read it (namePrefix, token, URL).',
      },
    ];
  });
}
