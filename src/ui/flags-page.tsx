// The flags page (/ui): every flag with its phase, stages, served percent, verdict in words, bake and hold reason; filter by phase.
import type { Verdict } from '../health/verdict.ts';
import type { Flag } from '../rollout/controller.ts';
import { percentOf } from '../rollout/explain.ts';
import { phases } from '../rollout/state.ts';
import { PhaseBadge, StageBar, timeInStage, verdictWords } from './layout.tsx';

export interface FlagLine {
  flag: Flag;
  verdict: Verdict | null;
}

/** One row; the live stream sends this same markup when the flag changes, so a row is replaced in place. */
export function FlagRow(props: FlagLine & { now: number }) {
  const { flag, verdict, now } = props;
  const name = flag.plan.name;
  return (
    <tr id={`flag-${name}`} data-flag={name} data-phase={flag.state.phase}>
      <th scope="row">
        <a href={`/ui/flags/${encodeURIComponent(name)}`}>{name}</a>
        <div class="muted small">{flag.plan.description}</div>
      </th>
      <td>
        <PhaseBadge flag={flag} />
      </td>
      <td>
        <StageBar flag={flag} />
      </td>
      <td class="num" data-served>
        {percentOf(flag.percent)}
      </td>
      <td class={`verdict verdict-${verdict?.status ?? 'none'}`}>{verdictWords(flag, verdict)}</td>
      <td class="small">{timeInStage(flag, now)}</td>
      <td class="small" data-reason>
        {flag.state.phaseReason ?? ''}
      </td>
    </tr>
  );
}

export function FlagsPage(props: { lines: FlagLine[]; now: number; phase: string | undefined }) {
  const shown = props.phase ? props.lines.filter((l) => l.flag.state.phase === props.phase) : props.lines;
  return (
    <>
      <h1>Flags</h1>
      <form method="get" action="/ui" class="filter">
        <label>
          Phase{' '}
          <select name="phase">
            <option value="">all</option>
            {phases.map((p) => (
              <option value={p} selected={p === props.phase}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <div class="table-wrap">
        <table class="flags">
          <caption class="muted small">
            {shown.length} of {props.lines.length} flags; live: changes appear without reloading
          </caption>
          <thead>
            <tr>
              <th scope="col">Flag</th>
              <th scope="col">Phase</th>
              <th scope="col">Stages</th>
              <th scope="col">Served</th>
              <th scope="col">Verdict</th>
              <th scope="col">In stage</th>
              <th scope="col">Hold reason</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((l) => (
              <FlagRow flag={l.flag} verdict={l.verdict} now={props.now} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
