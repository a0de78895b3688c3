// Alert intake: record each alert once per episode, match it against plans, and roll matched flags back once.
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { alertName } from './adapt.ts';
import { type AlertOutcome, type AlertStore, episodeKey, type FlagResult } from './alert-store.ts';
import { type MatchablePlan, matchAlert } from './match-alert.ts';
import type { Alert, AlertSource, AlertStatus } from './schema.ts';

/**
 * Rolls one flag back through the same path as a regression. Supplied by the composition root, so alerts/
 * does not depend on rollout/; it must write nothing when the rollout is not active.
 */
export type RollBack = (
  flag: string,
  actor: string,
  reason: string,
  evidence: Record<string, unknown>,
) => { outcome: 'rolled-back' | 'already-rolled-back' | 'not-active'; eventId: number | null };

/**
 * A repeat of an episode still firing rolls back a rollout started after the episode was first handled, unless
 * that start was forced over this very episode. Supplied by the composition root, like RollBack.
 */
export type RollBackLater = (
  flag: string,
  actor: string,
  reason: string,
  evidence: Record<string, unknown>,
  episode: { key: string; firstReceivedAt: number },
) => { outcome: 'rolled-back' | 'already-rolled-back' | 'not-active'; eventId: number | null };

export interface IntakeResult {
  id: number;
  source: AlertSource;
  fingerprint: string;
  alertname: string;
  status: AlertStatus;
  startsAt: string;
  /** True when this episode was handled before: nothing was done again. */
  duplicate: boolean;
  timesReceived: number;
  outcome: AlertOutcome;
  matched: FlagResult[];
}

export type AlertIntake = ReturnType<typeof createAlertIntake>;

export function createAlertIntake(deps: {
  store: AlertStore;
  plans: () => readonly MatchablePlan[];
  rollBack: RollBack;
  rollBackLater?: RollBackLater;
  clock: Clock;
  log: Logger;
}) {
  const { store, clock, log } = deps;

  /**
   * Acting comes before recording, so a rollback reaches SDKs without waiting on a second commit. Everything
   * from the lookup to the record runs synchronously, so concurrent duplicates in this process cannot
   * interleave; across processes the rollback itself is idempotent (an already rolled-back flag is left alone).
   */
  function handle(alert: Alert, plans: readonly MatchablePlan[], receivedBy: string): IntakeResult {
    const now = clock();
    const startsAt = alert.startsAt ?? store.openEpisodeStart(alert.source, alert.fingerprint) ?? now;
    const episode = { ...alert, startsAt };
    const name = alertName(alert);
    const base = {
      source: alert.source,
      fingerprint: alert.fingerprint,
      alertname: name,
      status: alert.status,
      startsAt: new Date(startsAt).toISOString(),
    };
    // A repeat acts again only when the first receipt did not finish (a rollback failed), or on a rollout
    // started since the episode began: an alert still firing must not let a restart run under it.
    const before = store.find(episode);
    if (before?.matched && before.outcome) {
      const row = store.record(episode, now);
      const actor = `alert:${alert.source}:${name}`;
      const reason = `alert ${name} still firing (${alert.source}) since ${base.startsAt}; the rollout started after it`;
      const matched = matchAlert(alert.labels, plans).map((m) => {
        const again =
          alert.status === 'firing' &&
          deps.rollBackLater?.(
            m.flag,
            actor,
            reason,
            { alert: { ...alert, startsAt: base.startsAt, repeat: true } },
            {
              key: episodeKey({ ...alert, startsAt }),
              firstReceivedAt: before.receivedAt,
            },
          );
        return again && again.eventId !== null
          ? { ...m, outcome: 'rolled-back' as const, eventId: again.eventId }
          : { ...m, outcome: 'duplicate' as const, eventId: null };
      });
      return {
        ...base,
        id: row.id,
        timesReceived: row.timesReceived,
        duplicate: true,
        outcome: before.outcome,
        matched,
      };
    }

    const actor = `alert:${alert.source}:${name}`;
    const reason = `alert ${name} firing (${alert.source})${alert.summary ? `: ${alert.summary}` : ''}`;
    const matched: FlagResult[] = matchAlert(alert.labels, plans).map((m) => {
      if (alert.status === 'resolved') return { ...m, outcome: 'resolved', eventId: null };
      const evidence = {
        alert: {
          source: alert.source,
          fingerprint: alert.fingerprint,
          startsAt: base.startsAt,
          labels: alert.labels,
          annotations: alert.annotations,
          matchedBy: m.by,
          receivedBy,
        },
      };
      try {
        return { ...m, ...deps.rollBack(m.flag, actor, reason, evidence) };
      } catch (err) {
        log.error('alert rollback failed; the sender will retry', { flag: m.flag, actor, err });
        return { ...m, outcome: 'error', eventId: null };
      }
    });
    const outcome: AlertOutcome = matched.length ? 'matched' : 'no-match';
    const finished = !matched.some((m) => m.outcome === 'error');
    const row = store.record(episode, now, { matched, outcome: finished ? outcome : null });
    log.info('alert received', {
      actor,
      status: alert.status,
      fingerprint: alert.fingerprint,
      outcome,
      flags: matched.map((m) => `${m.flag}:${m.outcome}`),
    });
    return { ...base, id: row.id, timesReceived: row.timesReceived, duplicate: false, outcome, matched };
  }

  return {
    /** Handles a batch in order; each alert is recorded and acted on independently. */
    receive(alerts: readonly Alert[], receivedBy: string): IntakeResult[] {
      const plans = deps.plans();
      return alerts.map((a) => handle(a, plans, receivedBy));
    },
  };
}
