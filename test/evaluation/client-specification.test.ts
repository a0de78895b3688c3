// Runs every file of @unleash/client-specification 6.1.0 against the evaluator.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEvaluator } from '../../src/evaluation/evaluate.ts';
import type {
  EvaluatedVariant,
  UnleashContext,
  UnleashFeature,
  UnleashSegment,
} from '../../src/evaluation/types.ts';
import { testEnv } from './env.ts';

interface ToggleTest {
  description: string;
  context: UnleashContext;
  toggleName: string;
  expectedResult: boolean;
}

interface VariantTest {
  description: string;
  context: UnleashContext;
  toggleName: string;
  expectedResult: EvaluatedVariant;
}

type DeltaEvent =
  | { type: 'hydration'; features: UnleashFeature[]; segments?: UnleashSegment[] }
  | { type: 'feature-updated'; feature: UnleashFeature }
  | { type: 'feature-removed'; featureName: string }
  | { type: 'segment-updated'; segment: UnleashSegment }
  | { type: 'segment-removed'; segmentId: number };

interface SpecFile {
  name: string;
  state: { features?: UnleashFeature[]; segments?: UnleashSegment[]; events?: DeltaEvent[] };
  tests?: ToggleTest[];
  variantTests?: VariantTest[];
}

const require = createRequire(import.meta.url);
const specDir = join(
  dirname(require.resolve('@unleash/client-specification/package.json')),
  'specifications',
);
const index: string[] = JSON.parse(readFileSync(join(specDir, 'index.json'), 'utf8'));
const specs = index.map((file) => ({
  file,
  spec: JSON.parse(readFileSync(join(specDir, file), 'utf8')) as SpecFile,
}));

/**
 * Files 19 and 20 describe their state as delta-API events rather than a full document; they still
 * carry toggle tests, so they are folded into a full state the way unleash-client's repository does.
 */
function stateOf(spec: SpecFile): { features: UnleashFeature[]; segments: UnleashSegment[] } {
  if (!spec.state.events) return { features: spec.state.features ?? [], segments: spec.state.segments ?? [] };
  const features = new Map<string, UnleashFeature>();
  const segments = new Map<number, UnleashSegment>();
  for (const event of spec.state.events) {
    if (event.type === 'hydration') {
      features.clear();
      segments.clear();
      for (const f of event.features) features.set(f.name, f);
      for (const s of event.segments ?? []) segments.set(s.id, s);
    } else if (event.type === 'feature-updated') features.set(event.feature.name, event.feature);
    else if (event.type === 'feature-removed') features.delete(event.featureName);
    else if (event.type === 'segment-updated') segments.set(event.segment.id, event.segment);
    else if (event.type === 'segment-removed') segments.delete(event.segmentId);
  }
  return { features: [...features.values()], segments: [...segments.values()] };
}

const toggleTotal = specs.reduce((n, { spec }) => n + (spec.tests?.length ?? 0), 0);
const variantTotal = specs.reduce((n, { spec }) => n + (spec.variantTests?.length ?? 0), 0);
console.log(
  `client-specification: ${specs.length} files, ${toggleTotal} toggle tests, ${variantTotal} variant tests`,
);

describe('client specification 6.1.0', () => {
  it('covers all 22 files with 227 toggle tests and 52 variant tests', () => {
    expect(specs.map((s) => s.file)).toHaveLength(22);
    expect(toggleTotal).toBe(227);
    expect(variantTotal).toBe(52);
  });

  it('includes the delta-API files 19 and 20 because they carry evaluation tests', () => {
    const delta = specs.filter(({ spec }) => spec.state.events);
    expect(delta.map((s) => s.file)).toEqual(['19-delta-api-hydration.json', '20-delta-api-events.json']);
    expect(delta.every(({ spec }) => (spec.tests?.length ?? 0) > 0)).toBe(true);
  });

  for (const { file, spec } of specs) {
    describe(file, () => {
      const { features, segments } = stateOf(spec);
      const evaluator = createEvaluator(features, testEnv({ segments }));

      for (const test of spec.tests ?? []) {
        it(test.description, () => {
          expect(evaluator.evaluate(test.toggleName, test.context).enabled).toBe(test.expectedResult);
        });
      }

      for (const test of spec.variantTests ?? []) {
        it(`variant: ${test.description}`, () => {
          const { variant } = evaluator.evaluate(test.toggleName, test.context);
          expect(variant).toEqual(test.expectedResult);
        });
      }
    });
  }
});
