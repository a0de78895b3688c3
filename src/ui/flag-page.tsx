// The flag page (/ui/flags/<name>): state and actions, stage timeline, verdict and charts per guardrail, readout, decision log.
import type { Verdict } from '../health/verdict.ts';
import type { Flag } from '../rollout/controller.ts';
import type { StoredEvent } from '../rollout/event-store.ts';
import { count, guardrailSentence, percentOf, splitSentence } from '../rollout/explain.ts';
import { LineChart } from './chart.tsx';
import { DecisionLog, Readout } from './flag-sections.tsx';
import { PhaseBadge, StageBar, timeInStage, verdictWords } from './layout.tsx';
import type { ArmReadout } from './readout.ts';
import type { GuardrailTrajectory } from './trajectory.ts';

export const buttonText = {
  start: 'Start',
  pause: 'Pause',
  resume: 'Resume',
  promote: 'Promote',
  rollback: 'Roll back',
  disable: 'Disable',
  enable: 'Enable',
} as const;
export type UiAction = keyof typeof buttonText;

export interface FlagPageData {
  flag: Flag;
  verdict: Verdict | null;
  trajectories: GuardrailTrajectory[];
  readout: ArmReadout[];
  events: StoredEvent[];
  now: number;
  /** Null for a read-only (viewer) session: no forms at all. */
  actions: { allowed: UiAction[]; csrf: string } | null;
  error?: string | undefined;
}

const iso = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);

function Actions(props: { name: string; allowed: UiAction[]; csrf: string }) {
  const base = `/ui/flags/${encodeURIComponent(props.name)}/actions`;
  return (
    <form method="post" class="actions" action={`${base}/${props.allowed[0] ?? 'pause'}`}>
      <input type="hidden" name="_csrf" value={props.csrf} />
      <label>
        Reason{' '}
        <input name="reason" required maxlength={1000} placeholder="why (recorded in the decision log)" />
      </label>
      <span class="buttons">
        {props.allowed.map((a) => (
          <button type="submit" formaction={`${base}/${a}`} class={`btn-${a}`}>
            {buttonText[a]}
          </button>
        ))}
        {props.allowed.includes('promote') ? (
          <button type="submit" formaction={`${base}/promote`} name="to" value="full" class="btn-promote">
            Promote to 100 %
          </button>
        ) : null}
      </span>
    </form>
  );
}

function Timeline(props: { flag: Flag; events: StoredEvent[] }) {
  const transitions = props.events.filter((e) => e.type.startsWith('rollout.') || e.type.startsWith('flag.'));
  const stages = props.flag.plan.rollout?.stages ?? [];
  return (
    <section aria-labelledby="timeline">
      <h2 id="timeline">Stages</h2>
      <StageBar flag={props.flag} />
      <table class="small">
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col">Percent</th>
            <th scope="col">Bake</th>
            <th scope="col">Minimum treatment requests</th>
          </tr>
        </thead>
        <tbody>
          {stages.map((s, i) => (
            <tr
              aria-current={
                i === props.flag.state.stage && props.flag.state.phase !== 'ready' ? 'step' : undefined
              }
            >
              <td>{i + 1}</td>
              <td>{percentOf(s.percent)}</td>
              <td>{s.bake ?? '–'}</td>
              <td>{s.minRequests ? count(s.minRequests) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ol class="transitions">
        {transitions
          .slice()
          .reverse()
          .map((e) => (
            <li data-type={e.type}>
              <time datetime={new Date(e.at).toISOString()}>{iso(e.at)}</time>{' '}
              {e.type.replace(/^(rollout|flag)\./, '')} by {e.actor}
            </li>
          ))}
      </ol>
    </section>
  );
}

function Health(props: { flag: Flag; verdict: Verdict; trajectories: GuardrailTrajectory[] }) {
  const { verdict, flag } = props;
  return (
    <section aria-labelledby="health">
      <h2 id="health">Guardrails</h2>
      <p class="small">
        Exposure this stage: {count(verdict.exposure.treatmentRequests)} treatment and{' '}
        {count(verdict.exposure.controlRequests)} control requests; {splitSentence(verdict.srm)}.{' '}
        {verdict.stale ? 'No signals arrived recently.' : ''}
      </p>
      {verdict.guardrails.map((g) => {
        const t = props.trajectories.find((x) => x.name === g.name);
        return (
          <article class={`guardrail verdict-${g.status}`} data-guardrail={g.name}>
            <h3>{g.name}</h3>
            <p>{guardrailSentence(flag.plan, g)}</p>
            {t ? (
              <div class="charts">
                <LineChart
                  title={t.arms.title}
                  unit={t.arms.unit}
                  lines={t.arms.lines}
                  levels={t.arms.levels}
                />
                {t.statistic ? (
                  <LineChart
                    title={t.statistic.title}
                    unit=""
                    lines={t.statistic.lines}
                    levels={t.statistic.levels}
                  />
                ) : null}
              </div>
            ) : null}
          </article>
        );
      })}
    </section>
  );
}

/** Everything the live stream refreshes: swapped whole when this flag changes. */
export function FlagLive(props: FlagPageData) {
  const { flag, verdict, now } = props;
  const experiment = flag.plan.type === 'experiment' || (flag.plan.variants?.length ?? 0) > 0;
  return (
    <div id="live" data-live-flag={flag.plan.name}>
      {props.error ? (
        <p role="alert" class="error">
          {props.error}
        </p>
      ) : null}
      <dl class="status">
        <dt>Phase</dt>
        <dd>
          <PhaseBadge flag={flag} />
        </dd>
        <dt>Served</dt>
        <dd data-served>{percentOf(flag.percent)}</dd>
        <dt>In stage</dt>
        <dd>{timeInStage(flag, now) || '–'}</dd>
        <dt>Verdict</dt>
        <dd>{verdictWords(flag, verdict)}</dd>
        <dt>Hold reason</dt>
        <dd data-reason>{flag.state.phaseReason ?? '–'}</dd>
      </dl>
      {props.actions ? (
        <Actions name={flag.plan.name} allowed={props.actions.allowed} csrf={props.actions.csrf} />
      ) : null}
      {flag.plan.rollout ? <Timeline flag={flag} events={props.events} /> : null}
      {verdict ? <Health flag={flag} verdict={verdict} trajectories={props.trajectories} /> : null}
      {experiment ? <Readout arms={props.readout} /> : null}
      <DecisionLog events={props.events} />
    </div>
  );
}

export function FlagPage(props: FlagPageData) {
  const { plan } = props.flag;
  return (
    <>
      <p class="small">
        <a href="/ui">← all flags</a>
      </p>
      <h1>{plan.name}</h1>
      <p>
        {plan.description}{' '}
        <span class="muted">
          · {plan.type} · owner {plan.owner}
        </span>
      </p>
      <FlagLive {...props} />
    </>
  );
}
