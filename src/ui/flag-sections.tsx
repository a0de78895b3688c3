// Two read-only sections of the flag page: the experiment readout per arm and the decision log with its evidence.
import type { StoredEvent } from '../rollout/event-store.ts';
import { count, pct } from '../rollout/explain.ts';
import type { ArmReadout } from './readout.ts';

const iso = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);

export function Readout(props: { arms: ArmReadout[] }) {
  const range = (r: { value: number; lower: number; upper: number } | null, f: (x: number) => string) =>
    r ? `${f(r.value)} (${f(r.lower)} – ${f(r.upper)})` : '–';
  const money = (x: number) => x.toFixed(3);
  return (
    <section aria-labelledby="readout">
      <h2 id="readout">Readout per arm</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Arm</th>
            <th scope="col">Exposed users</th>
            <th scope="col">Conversions</th>
            <th scope="col">Conversion rate (95 %)</th>
            <th scope="col">Revenue per exposed user (95 %)</th>
          </tr>
        </thead>
        <tbody>
          {props.arms.map((a) => (
            <tr>
              <th scope="row">{a.arm}</th>
              <td class="num">{count(a.users)}</td>
              <td class="num">{count(a.conversions)}</td>
              <td class="num">{range(a.conversionRate, pct)}</td>
              <td class="num">{range(a.revenuePerUser, money)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">
        Fixed-sample intervals, for reading; decisions use the guardrails' always-valid tests.
      </p>
    </section>
  );
}

export function DecisionLog(props: { events: StoredEvent[] }) {
  return (
    <section aria-labelledby="log">
      <h2 id="log">Decision log</h2>
      <ol class="log" reversed>
        {props.events.map((e) => (
          <li data-event={e.type}>
            <time datetime={new Date(e.at).toISOString()}>{iso(e.at)}</time> <strong>{e.type}</strong> by{' '}
            {e.actor}
            {e.reason ? <p class="reason">{e.reason}</p> : null}
            {Object.keys(e.data).length ? (
              <details>
                <summary>evidence</summary>
                <pre>{JSON.stringify(e.data, null, 2)}</pre>
              </details>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
