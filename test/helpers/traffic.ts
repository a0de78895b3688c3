// Seeded synthetic traffic for engine tests: per-minute interval records for treatment and control.
import { seededRandom } from '../../src/random.ts';

export { seededRandom };

/** Binomial draw by summing Bernoullis: exact, and fast enough for the counts tests use. */
export function binomial(n: number, p: number, random: () => number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

export interface MinuteTraffic {
  flag: string;
  at: number;
  requestsPerMinute: number;
  percent: number;
  controlErrorRate: number;
  treatmentErrorRate: number;
  random: () => number;
}

/** One minute of traffic split by the served percent, as a service would report it to POST /api/signals. */
export function minuteRecords(t: MinuteTraffic) {
  const treatment = Math.round((t.requestsPerMinute * t.percent) / 100);
  const control = t.requestsPerMinute - treatment;
  const at = new Date(t.at).toISOString();
  const records = [
    {
      flag: t.flag,
      arm: 'control',
      at,
      requests: control,
      errors: binomial(control, t.controlErrorRate, t.random),
    },
  ];
  if (treatment > 0) {
    records.push({
      flag: t.flag,
      arm: 'treatment',
      at,
      requests: treatment,
      errors: binomial(treatment, t.treatmentErrorRate, t.random),
    });
  }
  return records;
}
