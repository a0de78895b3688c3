// Absolute limits (an SLO such as "errors ≤ 2 %"): an always-valid confidence sequence on the treatment's rate, as a fold over intervals.
import { type Alarm, type DetectorVerdict, round } from './detector-verdict.ts';
import { logBeta } from './distributions.ts';

export interface SloOptions {
  /** The limit on the rate (events per unit), e.g. 0.02. */
  limit: number;
  /** 'higher': the rate must stay at or below the limit (errors); 'lower': at or above it (success rate). */
  worse: 'higher' | 'lower';
  alpha: number;
}

export interface SloState {
  readonly options: SloOptions;
  readonly units: number;
  readonly events: number;
  readonly intervals: number;
  readonly alarm: Alarm | null;
}

export function initSlo(options: SloOptions): SloState {
  return { options, units: 0, events: 0, intervals: 0, alarm: null };
}

// Beta prior centred on the limit with 1/min(limit, 1 − limit) pseudo-units (Beta(1, 49) for 2 %), so the
// mixture spends its power on rates of the limit's order rather than on rates near 1/2.
function prior(limit: number) {
  const strength = 1 / Math.min(limit, 1 - limit);
  return { a: strength * limit, b: strength * (1 - limit) };
}

/**
 * ln M_t(p) for the beta-binomial mixture martingale of Robbins: the Beta-mixed Bernoulli likelihood over the
 * likelihood at p. Under rate p it is a nonnegative martingale, so {p : ln M_t(p) < ln(1/α)} covers p at
 * every t at once with probability ≥ 1 − α, and its lower end exceeding the limit is a valid test of
 * "rate ≤ limit" however often it is looked at.
 */
export function logMixtureRatio(events: number, units: number, p: number, limit: number): number {
  const { a, b } = prior(limit);
  const misses = units - events;
  const atP = (events > 0 ? events * Math.log(p) : 0) + (misses > 0 ? misses * Math.log1p(-p) : 0);
  return logBeta(a + events, b + misses) - logBeta(a, b) - atP;
}

/** The always-valid (1 − α) interval for the rate, found by bisection on each side of the observed rate. */
export function rateConfidenceSequence(events: number, units: number, alpha: number, limit: number) {
  if (units <= 0) return { lower: 0, upper: 1 };
  const target = Math.log(1 / alpha);
  const observed = events / units;
  const outside = (p: number) => logMixtureRatio(events, units, p, limit) >= target;
  const edge = (inside: number, out: number) => {
    let lo = inside;
    let hi = out;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (outside(mid)) hi = mid;
      else lo = mid;
    }
    return (lo + hi) / 2;
  };
  const lower = observed > 0 && outside(0) ? edge(observed, 0) : 0;
  const upper = observed < 1 && outside(1) ? edge(observed, 1) : 1;
  return { lower, upper };
}

export function updateSlo(state: SloState, interval: { units: number; events: number }): SloState {
  const units = state.units + interval.units;
  const events = state.events + interval.events;
  const intervals = state.intervals + 1;
  const next = { ...state, units, events, intervals };
  if (state.alarm || units <= 0) return next;
  const { limit, worse, alpha } = state.options;
  const observed = events / units;
  const badSide = worse === 'higher' ? observed > limit : observed < limit;
  const statistic = logMixtureRatio(events, units, limit, limit);
  const threshold = Math.log(1 / alpha);
  if (!badSide || statistic < threshold) return next;
  return { ...next, alarm: { interval: intervals, statistic, threshold, form: 'confidence-sequence' } };
}

export type SloEvidence = ReturnType<typeof sloEvidence>;

function sloEvidence(state: SloState) {
  const { limit, alpha, worse } = state.options;
  const cs = rateConfidenceSequence(state.events, state.units, alpha, limit);
  return {
    test: 'slo-confidence-sequence' as const,
    limit,
    worse,
    treatment: {
      units: state.units,
      events: state.events,
      rate: round(state.units > 0 ? state.events / state.units : null),
    },
    interval: { lower: round(cs.lower), upper: round(cs.upper) },
    statistic: round(logMixtureRatio(state.events, state.units, limit, limit)),
    threshold: round(Math.log(1 / alpha)),
    alarm: state.alarm,
  };
}

/**
 * regressed: the always-valid interval lies wholly on the bad side of the limit (sticky). healthy: wholly on
 * the good side, or — once there are enough units that a breach would show (10 expected events at the limit
 * rate) — the observed rate is within the limit. The second rule lets a rollout running just under its SLO
 * advance: demanding the whole interval inside the limit would hold it for ever at a rate close to the limit,
 * while a real breach still rolls back through the always-valid side. insufficient-data otherwise.
 */
export function sloVerdict(state: SloState): DetectorVerdict<SloEvidence> {
  const evidence = sloEvidence(state);
  const { limit, worse } = state.options;
  const { lower, upper } = evidence.interval;
  const head = `rate ${evidence.treatment.events}/${evidence.treatment.units} against limit ${limit}; always-valid [${lower}, ${upper}]`;
  if (state.alarm) return { status: 'regressed', summary: `${head}: beyond the limit`, evidence };
  const certain = worse === 'higher' ? (upper ?? 1) <= limit : (lower ?? 0) >= limit;
  if (certain) return { status: 'healthy', summary: `${head}: within the limit`, evidence };
  const enough = state.units >= sloMinUnits(limit);
  const rate = evidence.treatment.rate ?? 0;
  if (enough && (worse === 'higher' ? rate <= limit : rate >= limit)) {
    return {
      status: 'healthy',
      summary: `${head}: observed within the limit over ${state.units} units`,
      evidence,
    };
  }
  return { status: 'insufficient-data', summary: `${head}: not yet decided`, evidence };
}

/** Units before an observed rate may count: 10 expected events at the limit rate (or at its complement). */
export function sloMinUnits(limit: number): number {
  return Math.ceil(10 / Math.max(Math.min(limit, 1 - limit), 1e-6));
}
