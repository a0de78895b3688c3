// Decisions in plain words: sentences an on-call person understands, built from a verdict's evidence (which keeps the statistics).
import type { GuardrailVerdict, SrmVerdict, Verdict } from '../health/verdict.ts';
import type { Guardrail, Plan } from '../plans/schema.ts';
import { type FlagState, servedPercent } from './state.ts';

// biome-ignore lint/suspicious/noExplicitAny: evidence is JSON whose shape depends on the detector; every read is guarded
type Json = any;

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** 0.0111 → "1.11 %": two decimals below 10 %, one above, so small rates keep the digits that matter. */
export function pct(rate: unknown): string {
  const r = num(rate);
  if (r === null) return '–';
  const p = r * 100;
  return `${p >= 10 ? p.toFixed(1) : p.toFixed(2)} %`;
}

/** A share of users or a limit, written as people write it: 5 %, 0.5 %, 2 %. */
export const percentOf = (p: number): string => `${Number(p.toPrecision(3))} %`;

export const count = (n: unknown): string => (num(n) ?? 0).toLocaleString('en-US');

const times = (ratio: unknown): string => {
  const r = num(ratio);
  return r === null ? '–' : `${Number(r.toPrecision(2))}×`;
};

const signed = (fraction: number): string =>
  `${fraction >= 0 ? '+' : '−'}${Number(Math.abs(fraction * 100).toPrecision(2))} %`;

const ms = (x: unknown): string => `${Number((num(x) ?? 0).toPrecision(3)).toLocaleString('en-US')} ms`;

/** α as the confidence a person reads: 0.008 → "99.2 %". */
export const confidence = (alpha: unknown): string => {
  const a = num(alpha) ?? 0.01;
  return `${Number(((1 - a) * 100).toPrecision(4))} %`;
};

export function minutes(msValue: number): string {
  if (msValue < 120_000) return `${Math.floor(msValue / 1000)} s`;
  if (msValue < 2 * 3_600_000) return `${Math.floor(msValue / 60_000)} min`;
  return `${Number((msValue / 3_600_000).toFixed(1))} h`;
}

const quantileLabel = (q: unknown) => `p${Math.round((num(q) ?? 0.5) * 1000) / 10}`;

/** The relative change a guardrail is built to catch, as the plan (or its default) sets it. */
function guardedRatio(g: Guardrail | undefined): number {
  return 1 + (g?.relative ?? 1);
}

/** What the numbers say, independent of the verdict: the rates or means of both arms and how they compare. */
export function describeEvidence(g: Guardrail | undefined, v: GuardrailVerdict): string {
  const e: Json = v.evidence;
  const metric = g?.metric ?? v.name.split(' ')[0];
  switch (e?.test) {
    case 'count-mixture': {
      const ratio = e.rateRatio === null ? '' : ` (${times(e.rateRatio)})`;
      if (e.threshold?.ms !== undefined) {
        const side = g?.worse === 'lower' ? 'faster' : 'slower';
        return `${pct(e.treatment?.rate)} of treatment requests ${side} than ${ms(e.threshold.ms)} (control's ${quantileLabel(e.threshold.quantile)}) against ${pct(e.control?.rate)} in control${ratio}`;
      }
      return `${metric} ${pct(e.treatment?.rate)} in treatment against ${pct(e.control?.rate)} in control${ratio}`;
    }
    case 'msprt': {
      const t = num(e.treatment?.mean) ?? 0;
      const c = num(e.control?.mean) ?? 0;
      if (e.ratioInterval) {
        const range = `always-valid range ${signed(e.ratioInterval.lower - 1)} to ${signed(e.ratioInterval.upper - 1)}`;
        return `typical latency ${ms(Math.exp(t))} in treatment against ${ms(Math.exp(c))} in control (${signed(Math.exp(t - c) - 1)}, ${range})`;
      }
      const change = c !== 0 ? ` (${signed(t / c - 1)})` : '';
      const value = (x: number) => (metric === 'conversions' ? pct(x) : x.toFixed(2));
      return `${metric} ${value(t)} per user in treatment against ${value(c)} in control${change}`;
    }
    case 'slo-confidence-sequence': {
      if (!num(e.treatment?.units))
        return `no treatment ${metric === 'latency' ? 'latencies' : 'units'} yet against the ${pct(e.limit)} limit`;
      const range = `always-valid range ${pct(e.interval?.lower)}–${pct(e.interval?.upper)}`;
      if (metric === 'latency' && g?.max !== undefined) {
        const q = quantileLabel(g.quantile ?? 0.5);
        return `${pct(e.treatment?.rate)} of treatment requests slower than ${ms(g.max)}, where the ${q} limit allows ${pct(e.limit)} (${range})`;
      }
      return `${metric} ${pct(e.treatment?.rate)} in treatment (${count(e.treatment?.events)} of ${count(e.treatment?.units)}) against the ${pct(e.limit)} limit (${range})`;
    }
    case 'drift-change-point': {
      const t = num(e.treatment?.rate);
      const h = num(e.holdback?.rate);
      const ratio = t !== null && h ? ` (${times(t / h)})` : '';
      return `${metric} ${pct(t)} in treatment against ${pct(h)} in the holdback since completion${ratio}`;
    }
    default:
      return v.summary;
  }
}

/** Why this guardrail's test says "worse", with the confidence it carries. */
function beyond(g: Guardrail | undefined, v: GuardrailVerdict): string {
  const e: Json = v.evidence;
  switch (e?.test) {
    case 'count-mixture': {
      // The alarm says treatment is worse with this confidence; "beyond" only when the observed ratio is.
      const guarded = guardedRatio(g);
      const observed = num(e.rateRatio);
      const sure =
        e.alarm?.form === 'change-point'
          ? `caught as a change that began after the start, with ${confidence(e.alpha)} confidence however long the rollout ran`
          : `with ${confidence(e.alpha)} confidence`;
      return observed !== null && observed >= guarded
        ? `beyond the ${times(guarded)} this guardrail guards against, ${sure}`
        : `more than in control, ${sure} (this guardrail watches for ${times(guarded)})`;
    }
    case 'msprt': {
      const rel = e.ratioInterval
        ? Math.exp(e.tau) - 1
        : (num(e.baseline?.mean) ?? 0) > 0
          ? e.tau / e.baseline.mean
          : null;
      const t = num(e.treatment?.mean) ?? 0;
      const c = num(e.control?.mean) ?? 0;
      const observed = e.ratioInterval ? Math.exp(t - c) - 1 : c !== 0 ? t / c - 1 : null;
      const worseBy = observed === null ? null : e.worse === 'lower' ? -observed : observed;
      const direction = `${e.worse === 'lower' ? 'lower' : 'higher'} in treatment`;
      const change = rel === null ? null : `${Number((rel * 100).toPrecision(2))} % change`;
      if (change === null) return `${direction}, with ${confidence(e.alpha)} confidence`;
      return worseBy !== null && rel !== null && worseBy >= rel
        ? `${direction} beyond the ${change} this guardrail guards against, with ${confidence(e.alpha)} confidence`
        : `${direction}, with ${confidence(e.alpha)} confidence (this guardrail watches for a ${change})`;
    }
    case 'slo-confidence-sequence':
      return `the whole range is beyond the limit, with ${confidence(e.alpha)} confidence`;
    case 'drift-change-point':
      return `a sustained rise since completion, most likely ${times(e.mostLikelyRatio)}, with ${confidence(e.alpha)} confidence however long it is watched (evidence ${e.statistic} ≥ ${e.threshold}, log scale)`;
    default:
      return 'beyond what this guardrail allows';
  }
}

/** What happened to the rollout because of a regression, in the words of the plan's onRegression. */
export function outcome(plan: Plan, state: FlagState): string {
  const percent = servedPercent(plan, state);
  const how = plan.rollout?.onRegression ?? 'rollback';
  if (how === 'pause') return `paused at ${percentOf(percent)} for a person to judge`;
  const previous = plan.rollout?.stages[state.stage - 1]?.percent;
  if (how === 'step-back' && state.phase === 'progressing' && previous !== undefined)
    return `stepped back from ${percentOf(percent)} to ${percentOf(previous)} and held`;
  return `rolled back from ${percentOf(percent)}`;
}

const guardrailOf = (plan: Plan, v: GuardrailVerdict) => plan.rollout?.guardrails[v.index];

export function regressionReason(plan: Plan, state: FlagState, v: GuardrailVerdict): string {
  const g = guardrailOf(plan, v);
  return `${v.name}: ${describeEvidence(g, v)}, ${beyond(g, v)}${wholeBeside(g, v)}; ${outcome(plan, state)}`;
}

/** For a segment's regression: how the whole population looks, since a healthy total is what hid it. */
function wholeBeside(g: Guardrail | undefined, v: GuardrailVerdict): string {
  const e: Json = v.evidence;
  const whole = e?.wholePopulation;
  if (!v.segment || !whole) return '';
  const pooled =
    v.segment.value === '(other)' && num(v.segment.pooledValues)
      ? ` (${count(v.segment.pooledValues)} values pooled: ${v.segment.pooledNames?.join(', ')})`
      : '';
  const numbers = describeEvidence(g, {
    ...v,
    summary: String(whole.summary),
    evidence: whole.evidence ?? {},
  });
  return `${pooled}; the whole population is ${statusWords[whole.status as GuardrailVerdict['status']] ?? whole.status} (${numbers})`;
}

export function inconclusiveReason(plan: Plan, v: GuardrailVerdict): string {
  return `needs a person: ${v.name}: ${describeEvidence(guardrailOf(plan, v), v)}; the planned sample could not tell harm from no harm`;
}

/** What an insufficient-data guardrail still waits for, after its name. */
function waitingFor(plan: Plan, v: GuardrailVerdict): string {
  const e: Json = v.evidence;
  const g = guardrailOf(plan, v);
  const own = v.summary.startsWith(`${v.name}: `) ? v.summary.slice(v.name.length + 2) : v.summary;
  switch (e?.test) {
    case 'count-mixture':
      return v.missing === 'control'
        ? `${count(e.control?.requests)} control requests against ${count(e.treatment?.requests)} treatment; comparing needs ${count(e.minTreatmentRequests)}`
        : `${count(e.treatment?.requests)} of the ${count(e.minTreatmentRequests)} treatment requests needed to rule out a ${times(guardedRatio(g))} rise`;
    case 'msprt':
      return `${count(e.treatment?.units)} treatment and ${count(e.control?.units)} control units so far; the test starts at 100 units and 10 events per arm`;
    case 'slo-confidence-sequence':
      // A limit between two bucket bounds: the detector's own words say which bound to add.
      return e.bucket ? own : `${describeEvidence(g, v)}, not yet decided`;
    default:
      return own.replace(/^(no|too little) control traffic for [^:]*: /, '');
  }
}

/** "no control traffic" or "too little control traffic": without a comparison there is no verdict. */
function missingControl(v: GuardrailVerdict): string {
  const e: Json = v.evidence;
  const none =
    e?.test === 'count-mixture'
      ? num(e.control?.requests) === 0
      : e?.test === 'msprt'
        ? num(e.control?.units) === 0
        : v.summary.startsWith('no control traffic');
  return none ? 'no control traffic' : 'too little control traffic';
}

/** What a guardrail still waits for; the text before its first digit names the guardrail, so holds read alike while counts grow. */
export function insufficientReason(plan: Plan, v: GuardrailVerdict): string {
  const lead = v.missing === 'control' ? `${missingControl(v)} for` : 'waiting for data on';
  return `${lead} ${v.name}: ${waitingFor(plan, v)}`;
}

export function srmReason(srm: SrmVerdict): string {
  const e: Json = srm.evidence;
  if (num(e?.observedShare) === null || num(e?.expectedShare) === null)
    return `split looks wrong: ${srm.summary}`;
  const n = (num(e.treatment) ?? 0) + (num(e.control) ?? 0);
  return `split looks wrong: ${pct(e.observedShare)} of ${count(n)} ${e.unit ?? 'requests'} reached treatment where ${pct(e.expectedShare)} should (p = ${e.pValue}); holding until it is explained`;
}

/** The split for a reader: how much traffic reached treatment against what the percent predicts. */
export function splitSentence(srm: SrmVerdict): string {
  if (srm.status === 'mismatch') return srmReason(srm);
  const e: Json = srm.evidence;
  const n = (num(e?.treatment) ?? 0) + (num(e?.control) ?? 0);
  const unit = e?.unit ?? 'requests';
  if (srm.status !== 'ok' || num(e?.observedShare) === null)
    return num(e?.expectedShare) === null
      ? srm.summary.replace(/^split: /, 'split not checked: ')
      : `split not checked yet: ${count(n)} ${unit} so far`;
  return `split as configured: ${pct(e.observedShare)} of ${count(n)} ${unit} reached treatment, ${pct(e.expectedShare)} expected`;
}

export function exposureReason(treatmentRequests: number, minRequests: number, stage: string): string {
  return `waiting for exposure: ${count(treatmentRequests)} of ${count(minRequests)} treatment requests at ${stage}`;
}

export function bakingReason(elapsedMs: number, bakeMs: number, stage: string): string {
  return `baking: ${minutes(elapsedMs)} of ${minutes(bakeMs)} at ${stage}`;
}

/** The short figure a promotion quotes for a guardrail: both arms, no test jargon. */
function figure(g: Guardrail | undefined, v: GuardrailVerdict): string {
  const e: Json = v.evidence;
  switch (e?.test) {
    case 'count-mixture':
      return e.threshold?.ms !== undefined
        ? `slower than ${ms(e.threshold.ms)} ${pct(e.treatment?.rate)} vs ${pct(e.control?.rate)}`
        : `${g?.metric ?? 'errors'} ${pct(e.treatment?.rate)} vs ${pct(e.control?.rate)}`;
    case 'msprt':
      return e.ratioInterval
        ? `latency ${ms(Math.exp(e.treatment?.mean ?? 0))} vs ${ms(Math.exp(e.control?.mean ?? 0))}`
        : g?.metric === 'conversions'
          ? `conversions ${pct(e.treatment?.mean)} vs ${pct(e.control?.mean)} per user`
          : `${g?.metric} ${(e.treatment?.mean ?? 0).toFixed(2)} vs ${(e.control?.mean ?? 0).toFixed(2)} per user`;
    case 'slo-confidence-sequence':
      return `${v.name.replace(/ <=.*| >=.*/, '')} ${pct(e.treatment?.rate)} within ${pct(e.limit)}`;
    default:
      return v.name;
  }
}

export function promotionReason(p: {
  elapsedMs: number;
  bakeMs: number;
  treatmentRequests: number;
  minRequests: number;
  verdict: Verdict;
  plan: Plan;
}): string {
  const baked = p.bakeMs > 0 ? `${minutes(p.elapsedMs)} of ${minutes(p.bakeMs)} baked` : 'no bake';
  const exposure = p.minRequests
    ? `${count(p.treatmentRequests)} of ${count(p.minRequests)} treatment requests`
    : `${count(p.treatmentRequests)} treatment requests`;
  const wholes = p.verdict.guardrails.filter((g) => !g.segment);
  const passed = wholes.filter((g) => g.status === 'healthy').length;
  const checked = `${passed} guardrail${passed === 1 ? '' : 's'} passed`;
  const figures = wholes.map((v) => figure(guardrailOf(p.plan, v), v) + segmentsFigure(p.verdict, v));
  return `healthy: ${baked}, ${exposure}, ${checked}${figures.length ? `; ${figures.join('; ')}` : ''}`;
}

/** After a `by:` guardrail's figure: how many of its segments were judged, e.g. " (region: 3 of 4 segments healthy)". */
function segmentsFigure(verdict: Verdict, whole: GuardrailVerdict): string {
  const segments = verdict.guardrails.filter((g) => g.segment && g.index === whole.index);
  const field = segments[0]?.segment?.field;
  if (!field) return '';
  const healthy = segments.filter((g) => g.status === 'healthy').length;
  const rest = segments.length - healthy;
  return rest === 0
    ? ` (${field}: all ${segments.length} segments healthy)`
    : ` (${field}: ${healthy} of ${segments.length} segments healthy, ${rest} not yet judged)`;
}

const statusWords: Record<GuardrailVerdict['status'], string> = {
  healthy: 'healthy',
  regressed: 'regressed',
  inconclusive: 'inconclusive, needs a person',
  'insufficient-data': 'waiting for data',
};

/** One guardrail's current verdict for the dashboard: its status in words and what the numbers say. */
export function guardrailSentence(plan: Plan, v: GuardrailVerdict): string {
  if (v.status === 'insufficient-data') {
    const lead = v.missing === 'control' ? missingControl(v) : 'waiting for data';
    return `${v.name}: ${lead}, ${waitingFor(plan, v)}`;
  }
  return `${v.name}: ${statusWords[v.status]}, ${describeEvidence(guardrailOf(plan, v), v)}`;
}

/** Signals that came for minutes already assessed, in words; empty when there were none. */
export function lateNote(late: number): string {
  if (!(late > 0)) return '';
  const values = late === 1 ? 'signal value' : 'signal values';
  return `${count(late)} ${values} arrived for minutes already assessed: stored apart, not counted`;
}
