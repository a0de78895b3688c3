// The outgoing notification message for one transition: structured fields plus a Slack-compatible `text`.
import type { Flag } from './controller.ts';
import type { StoredEvent } from './event-store.ts';
import type { Phase } from './state.ts';

/** The transitions announced to webhooks: rollout moves and kill-switch changes, not plan bookkeeping. */
export const notifiedEvents: ReadonlySet<string> = new Set([
  'rollout.started',
  'rollout.promoted',
  'rollout.held',
  'rollout.paused',
  'rollout.resumed',
  'rollout.stepped-back',
  'rollout.rolled-back',
  'rollout.completed',
  'flag.enabled',
  'flag.disabled',
]);

/** The flag right after the transition. */
export interface FlagView {
  phase: Phase;
  percent: number;
  enabled: boolean;
  /** The current stage, 1-based; null for flags without a rollout. */
  stage: { number: number; of: number } | null;
}

export function flagViewOf(flag: Flag): FlagView {
  return {
    phase: flag.state.phase,
    percent: flag.percent,
    enabled: flag.state.enabled,
    stage: flag.plan.rollout ? { number: flag.state.stage + 1, of: flag.plan.rollout.stages.length } : null,
  };
}

const headline: Record<string, { emoji: string; verb: string }> = {
  'rollout.started': { emoji: ':rocket:', verb: 'rollout started' },
  'rollout.promoted': { emoji: ':arrow_up:', verb: 'promoted' },
  'rollout.held': { emoji: ':hourglass:', verb: 'held' },
  'rollout.paused': { emoji: ':double_vertical_bar:', verb: 'paused' },
  'rollout.resumed': { emoji: ':arrow_forward:', verb: 'resumed' },
  'rollout.stepped-back': { emoji: ':arrow_down:', verb: 'stepped back' },
  'rollout.rolled-back': { emoji: ':rotating_light:', verb: 'rolled back' },
  'rollout.completed': { emoji: ':white_check_mark:', verb: 'rollout completed' },
  'flag.enabled': { emoji: ':large_green_circle:', verb: 'enabled' },
  'flag.disabled': { emoji: ':red_circle:', verb: 'disabled (kill switch)' },
  'audit.failed': { emoji: ':no_entry:', verb: 'audit: gates newly fail' },
};

export interface Notification {
  id: number;
  type: string;
  flag: string | null;
  at: string;
  actor: string;
  reason: string | null;
  phase: Phase | null;
  percent: number | null;
  percentBefore: number | null;
  /** e.g. "stage 2/4" while a rollout runs or is paused. */
  stage: string | null;
  fromStage: string | null;
  evidence: Record<string, unknown>;
  text: string;
}

export function notificationFor(event: StoredEvent, view: FlagView | undefined): Notification {
  const data = event.data;
  const percentBefore = typeof data.percentBefore === 'number' ? data.percentBefore : null;
  const fromStage = typeof data.fromStage === 'string' ? data.fromStage : null;
  const { emoji, verb } = headline[event.type] ?? { emoji: ':information_source:', verb: event.type };
  const move =
    view && percentBefore !== null && percentBefore !== view.percent
      ? `${percentBefore}% → ${view.percent}%`
      : view
        ? `at ${view.percent}%`
        : '';
  const running = view?.stage && (view.phase === 'progressing' || view.phase === 'paused');
  const stage = running && view.stage ? `stage ${view.stage.number}/${view.stage.of}` : null;
  const parts = [
    `${emoji} *${slack(event.flag ?? 'rollgate')}* ${verb}`,
    move && `: ${move}`,
    stage ? ` (${stage})` : '',
    ` by ${slack(event.actor)}`,
    event.reason ? `: ${slack(event.reason)}` : '',
  ];
  return {
    id: event.id,
    type: event.type,
    flag: event.flag,
    at: new Date(event.at).toISOString(),
    actor: event.actor,
    reason: event.reason,
    phase: view?.phase ?? null,
    percent: view?.percent ?? null,
    percentBefore,
    stage,
    fromStage,
    evidence: data,
    text: parts.join(''),
  };
}

/** Slack treats &, < and > as markup; everything else is shown as written. */
const slack = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
