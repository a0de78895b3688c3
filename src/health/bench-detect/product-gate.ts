// The rollback decision the product would make on simulated traffic: the plan's guardrails as detector folds, α split across them, rollback on the first regressed one.
import { splitAlpha } from '../detectors/combine.ts';
import { type CountTestForm, initCountTest, updateCountTest } from '../detectors/count-test.ts';
import { initMeanTest, type MeanTestOptions, updateMeanTest } from '../detectors/mean-test.ts';
import { initSlo, updateSlo } from '../detectors/slo-bound.ts';
import { productSrmOptions, type SrmOptions, sampleRatioTest, srmStatistic } from '../detectors/srm.ts';
import type { ArmTick } from './traffic.ts';

export interface Tick {
  minute: number;
  /** The configured treatment share this minute. */
  share: number;
  treatment: ArmTick;
  control: ArmTick;
}

/** Anything that watches the stream and may fire once: returns the reason from the minute it fired on. */
export interface Watcher {
  readonly name: string;
  observe(tick: Tick): string | null;
}

export type GuardrailSpec =
  | { kind: 'errors'; weight: number; form: CountTestForm; detectorThreshold?: number }
  | { kind: 'tail'; weight: number; quantile: 95 | 99 }
  | { kind: 'mean'; weight: number; metric: 'latency' | 'conversions' | 'revenue'; tau: number }
  | { kind: 'slo'; weight: number; limit: number };

export interface GateConfig {
  name: string;
  /** False-rollback budget per rollout, split across the guardrails by weight (Bonferroni). */
  alpha: number;
  guardrails: readonly GuardrailSpec[];
}

type Fold = { name: string; observe(tick: Tick): boolean };

function fold(spec: GuardrailSpec, alpha: number): Fold {
  switch (spec.kind) {
    case 'errors': {
      const opts = { alpha, form: spec.form, detectorThreshold: spec.detectorThreshold ?? 1e5 };
      let state = initCountTest(opts);
      return {
        name: `errors (${spec.form})`,
        observe: ({ treatment: t, control: c }) => {
          state = updateCountTest(state, {
            nT: t.requests,
            nC: c.requests,
            eT: t.incidents,
            eC: c.incidents,
          });
          return state.alarm !== null;
        },
      };
    }
    case 'tail': {
      let state = initCountTest({ alpha, form: 'cumulative' });
      const key = spec.quantile === 95 ? 'over95' : 'over99';
      return {
        name: `latency p${spec.quantile}`,
        observe: ({ treatment: t, control: c }) => {
          state = updateCountTest(state, { nT: t.requests, nC: c.requests, eT: t[key], eC: c[key] });
          return state.alarm !== null;
        },
      };
    }
    case 'mean': {
      const key = spec.metric === 'latency' ? 'logLatency' : spec.metric;
      const options: MeanTestOptions = {
        alpha,
        worse: spec.metric === 'latency' ? 'higher' : 'lower',
        tau: spec.tau,
      };
      let state = initMeanTest(options);
      return {
        name: `${spec.metric} mean`,
        observe: ({ treatment: t, control: c }) => {
          state = updateMeanTest(state, { treatment: t[key], control: c[key] });
          return state.alarm !== null;
        },
      };
    }
    case 'slo': {
      let state = initSlo({ limit: spec.limit, worse: 'higher', alpha });
      return {
        name: `errors ≤ ${spec.limit}`,
        observe: ({ treatment: t }) => {
          state = updateSlo(state, { units: t.requests, events: t.incidents });
          return state.alarm !== null;
        },
      };
    }
  }
}

/**
 * One fold per guardrail from the flag flip through every stage, so each keeps one α per rollout (Ville
 * holds while exposure changes). A detector's `alarm` is exactly its 'regressed' status, so the gate reads
 * it without building evidence every minute.
 */
export function createProductGate(config: GateConfig): Watcher {
  const alphas = splitAlpha(
    config.alpha,
    config.guardrails.map((g) => g.weight),
  );
  const folds = config.guardrails.map((g, i) => fold(g, alphas[i] as number));
  return {
    name: config.name,
    observe(tick) {
      let fired: string | null = null;
      for (const f of folds) if (f.observe(tick) && fired === null) fired = f.name;
      return fired;
    },
  };
}

/** The split check the product runs beside the guardrails: chi-square on the stage's units, every minute. */
export function createSrmWatcher(options: Required<SrmOptions> = productSrmOptions): Watcher {
  let stageShare = -1;
  let nT = 0;
  let nC = 0;
  return {
    name: 'srm',
    observe({ share, treatment, control }) {
      if (share !== stageShare) {
        stageShare = share;
        nT = 0;
        nC = 0;
      }
      nT += treatment.requests;
      nC += control.requests;
      const units = { treatment: nT, control: nC };
      // The p-value alone clears most minutes; the full verdict (with its sample-size rule) decides the rest.
      if (srmStatistic(units, share).pValue >= options.pThreshold) return null;
      return sampleRatioTest(units, share, options).status === 'mismatch' ? 'sample ratio mismatch' : null;
    },
  };
}
