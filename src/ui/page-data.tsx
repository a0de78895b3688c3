// What the pages show, gathered from the controller and the health checks: rows, the flag page's data, the allowed actions.
import type { FlagHealth } from '../health/flag-health.ts';
import { decideAction, rolloutActions } from '../rollout/actions.ts';
import type { Controller, Flag } from '../rollout/controller.ts';
import type { FlagPageData, UiAction } from './flag-page.tsx';
import { FlagRow } from './flags-page.tsx';
import type { LiveUpdate } from './live.ts';
import { readout } from './readout.ts';
import type { Session, Sessions } from './session.ts';
import { trajectories } from './trajectory.ts';

export type PageData = ReturnType<typeof createPageData>;

export function createPageData(deps: { controller: Controller; flagHealth: FlagHealth; sessions: Sessions }) {
  const { controller, flagHealth, sessions } = deps;
  const verdictOf = (flag: Flag) => (flag.plan.rollout ? flagHealth.assess(flag, controller.clock()) : null);
  const row = (name: string): LiveUpdate | null => {
    const flag = controller.getFlag(name);
    if (!flag) return null;
    const now = controller.clock();
    const html = (<FlagRow flag={flag} verdict={verdictOf(flag)} now={now} />).toString();
    return { name, phase: flag.state.phase, percent: flag.percent, row: html };
  };

  const allowedActions = (flag: Flag): UiAction[] => {
    const now = controller.clock();
    const rollout = rolloutActions.filter((a) => {
      try {
        decideAction(flag, a, {}, now);
        return true;
      } catch {
        return false;
      }
    });
    return [...rollout, flag.state.enabled ? 'disable' : 'enable'];
  };

  const pageData = (flag: Flag, session: Session, error?: string): FlagPageData => {
    const now = controller.clock();
    const events = controller.events.list({ flag: flag.plan.name, limit: 100 });
    const base = {
      flag,
      events,
      now,
      error,
      actions:
        session.role === 'admin'
          ? { allowed: allowedActions(flag), csrf: sessions.csrfToken(session) }
          : null,
    };
    if (!flag.plan.rollout) return { ...base, verdict: null, trajectories: [], readout: [] };
    const { verdict, series } = flagHealth.check(flag, now);
    const from = flag.state.watchSince ?? flag.state.startedAt ?? series.since;
    return {
      ...base,
      verdict,
      trajectories: trajectories(flag, series, verdict.guardrails, now),
      readout: readout(series, from),
    };
  };

  return { verdictOf, row, pageData };
}
