// The page frame and the small pieces both pages share: phase badge, stage bar, verdict in words.
import type { Child } from 'hono/jsx';
import type { Verdict } from '../health/verdict.ts';
import { parseDuration } from '../plans/duration.ts';
import type { Flag } from '../rollout/controller.ts';
import { guardrailSentence, minutes, percentOf } from '../rollout/explain.ts';
import type { Session } from './session.ts';

export function Layout(props: {
  title: string;
  session?: Session | undefined;
  csrf?: string;
  children: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Rollgate`}</title>
        <link rel="stylesheet" href="/ui/assets/ui.css" />
        {props.session ? <script src="/ui/assets/ui.js" defer /> : null}
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/ui">
            Rollgate
          </a>
          {props.session ? <a href="/ui/audit">Audit</a> : null}
          {props.session ? (
            <form method="post" action="/ui/logout" class="signout">
              <span>
                {props.session.name} ({props.session.role === 'viewer' ? 'read-only' : 'admin'})
              </span>
              <input type="hidden" name="_csrf" value={props.csrf} />
              <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <p id="live-status" class="live-status" aria-live="polite" />
        <main>{props.children}</main>
      </body>
    </html>
  );
}

export function PhaseBadge(props: { flag: Flag }) {
  const { state } = props.flag;
  return (
    <span class={`phase phase-${state.phase}`} data-phase={state.phase}>
      {state.phase}
      {state.enabled ? '' : ' · disabled'}
    </span>
  );
}

/** 1 % → 5 % → 25 % → 100 %: done stages filled, the current one marked. */
export function StageBar(props: { flag: Flag }) {
  const stages = props.flag.plan.rollout?.stages ?? [];
  if (!stages.length) return <span class="muted">plain switch</span>;
  const { phase, stage } = props.flag.state;
  const active = phase === 'progressing' || phase === 'paused' || phase === 'completed';
  return (
    <ol class="stages" aria-label="stages">
      {stages.map((s, i) => {
        const status = !active
          ? 'todo'
          : i < stage || phase === 'completed'
            ? 'done'
            : i === stage
              ? 'current'
              : 'todo';
        return (
          <li class={`stage ${status}`} aria-current={status === 'current' ? 'step' : undefined}>
            {percentOf(s.percent)}
          </li>
        );
      })}
    </ol>
  );
}

/** "12 min of 30 min" while a stage bakes; empty when nothing is running. */
export function timeInStage(flag: Flag, now: number): string {
  const stage = flag.plan.rollout?.stages[flag.state.stage];
  if (!stage || flag.state.stageStartedAt === null || !['progressing', 'paused'].includes(flag.state.phase))
    return '';
  const bake = parseDuration(stage.bake ?? '0') ?? 0;
  const elapsed = minutes(Math.max(0, now - flag.state.stageStartedAt));
  return bake > 0 ? `${elapsed} of ${minutes(bake)}` : elapsed;
}

/** The verdict in one line: healthy, or the first guardrail that is not, in words. */
export function verdictWords(flag: Flag, verdict: Verdict | null): string {
  if (!verdict) return 'no rollout: a plain on/off switch';
  if (flag.state.phase === 'ready') return 'not started';
  if (flag.state.phase === 'rolled-back') return 'rolled back; Start begins again from the first stage';
  const worst = verdict.guardrails.find((g) => g.status === verdict.status && g.status !== 'healthy');
  const head = worst
    ? guardrailSentence(flag.plan, worst)
    : verdict.guardrails.length
      ? 'every guardrail healthy'
      : 'no guardrails';
  return verdict.stale ? `${head}; no signals arrived recently` : head;
}
