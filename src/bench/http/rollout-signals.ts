// Signals for the bundled rollouts, so the serving benchmark's scheduler ticks assess real history, not nothing.
import { minuteMs } from '../../health/series.ts';
import type { IntervalRecord } from '../../health/signal-schema.ts';

const bounds = [5, 10, 25, 50, 100, 250, 500, 1000];

/** The bundled plans' arms and the metrics their guardrails read (errors and latency; conversions and revenue). */
const flags: Array<{ name: string; arms: string[]; kind: 'service' | 'commerce' }> = [
  { name: 'queue.async-tasks', arms: ['control', 'treatment'], kind: 'service' },
  { name: 'schema.ai-model', arms: ['control', 'treatment'], kind: 'service' },
  { name: 'pricing.dynamic-offers', arms: ['control', 'price-17', 'price-21'], kind: 'commerce' },
];

/**
 * Healthy A/A traffic per flag and arm in the minute starting at `at`: a whole minute's worth at `share` 1, a
 * second's at 1/60. `seed` varies the counts a little from call to call.
 */
export function minuteOfSignals(at: number, seed: number, share = 1): IntervalRecord[] {
  const records: IntervalRecord[] = [];
  for (const flag of flags) {
    for (const [k, arm] of flag.arms.entries()) {
      const requests = Math.max(1, Math.round((400 + ((seed * 31 + k * 17) % 120)) * share));
      if (flag.kind === 'commerce') {
        const units = Math.round(requests / 4);
        const conversions = Math.min(units, Math.round(units / 10) + (seed % 3));
        records.push({
          flag: flag.name,
          arm,
          at,
          units,
          conversions,
          revenue: conversions * 19,
          revenueSquares: conversions * 361,
        });
        continue;
      }
      const buckets = bounds.map((le, i) => ({
        le,
        count: Math.round((requests * (i + 1)) / (bounds.length + 1)),
      }));
      records.push({
        flag: flag.name,
        arm,
        at,
        requests,
        errors: Math.min(requests, Math.round(((seed + k) % 5) * share)),
        latencyMs: {
          count: requests,
          sum: requests * 80,
          buckets: [...buckets, { le: '+Inf', count: requests }],
        },
      });
    }
  }
  return records;
}

/** Posts records in batches of 500 through the public intake, as a metrics pipeline would. */
export async function postSignals(url: string, token: string, records: IntervalRecord[]) {
  for (let i = 0; i < records.length; i += 500) {
    const res = await fetch(`${url}/api/signals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(records.slice(i, i + 500)),
    });
    if (!res.ok) throw new Error(`POST /api/signals: ${res.status} ${await res.text()}`);
  }
}

/** `hours` of minute history before `now`, then the current minute again every second until stopped. */
export async function feedRollouts(url: string, token: string, now: () => number, hours: number) {
  const start = Math.floor(now() / minuteMs) * minuteMs;
  const history: IntervalRecord[] = [];
  for (let m = hours * 60; m > 0; m--) history.push(...minuteOfSignals(start - m * minuteMs, m));
  await postSignals(url, token, history);
  let seed = 0;
  let failure: unknown;
  const timer = setInterval(() => {
    const minute = Math.floor(now() / minuteMs) * minuteMs;
    // A sender reports the minute it is in every second; the store adds the seconds up into the minute bucket.
    postSignals(url, token, minuteOfSignals(minute, seed++, 1 / 60)).catch((err) => {
      failure ??= err;
    });
  }, 1000);
  return {
    records: history.length,
    stop() {
      clearInterval(timer);
      if (failure) throw failure;
    },
  };
}
