// The frontend API's answer per context, evaluated once per document and remembered while nothing can change it.
import { createEvaluator, type Evaluator } from '../evaluation/evaluate.ts';
import type { UnleashContext } from '../evaluation/types.ts';
import { type ServedDocument, type ServedFeatures, strongEtag } from '../rollout/served.ts';

/** Enough for every browser context polling one instance; the oldest go first once it is full. */
const MAX_CONTEXTS = 10_000;

export interface FrontendAnswer {
  body: string;
  etag: string;
}

export type FrontendAnswers = ReturnType<typeof createFrontendAnswers>;

/**
 * Browser SDKs poll every few seconds with the same context, and each answer costs an evaluation of every
 * flag plus a JSON body and a sha256. The answer is a function of the served document and the context,
 * unless evaluation asked for randomness (random or default stickiness without an id, gradualRolloutRandom,
 * a variant without its stickiness field) or for the clock (date operators without `currentTime`): the
 * evaluator's random and now are watched, and an answer that touched either is never remembered. A new
 * document starts an empty cache.
 */
export function createFrontendAnswers(deps: {
  served: ServedFeatures;
  random: () => number;
  now: () => number;
}) {
  let touchedOutside = false;
  const env = {
    random: () => {
      touchedOutside = true;
      return deps.random();
    },
    now: () => {
      touchedOutside = true;
      return deps.now();
    },
  };
  let compiled:
    | { doc: ServedDocument; evaluator: Evaluator; answers: Map<string, FrontendAnswer> }
    | undefined;

  return {
    /** `context` is complete here (remoteAddress filled in): it is the whole cache key. */
    answer(context: UnleashContext): FrontendAnswer {
      const doc = deps.served.current();
      if (compiled?.doc !== doc) {
        const evaluator = createEvaluator(doc.features, { ...env, segments: [] });
        compiled = { doc, evaluator, answers: new Map() };
      }
      const { evaluator, answers } = compiled;
      const key = JSON.stringify(context);
      const hit = answers.get(key);
      if (hit) return hit;
      touchedOutside = false;
      const enabled = evaluator
        .evaluateAll(context)
        .filter((f) => f.enabled)
        .map((f) => ({ name: f.name, enabled: true, variant: f.variant, impressionData: f.impressionData }));
      const body = JSON.stringify({ toggles: enabled });
      const answer = { body, etag: strongEtag(body) };
      if (!touchedOutside) {
        if (answers.size >= MAX_CONTEXTS) answers.delete(answers.keys().next().value as string);
        answers.set(key, answer);
      }
      return answer;
    },
  };
}
