// Strategy constraints and segments compiled into one predicate: all must hold.
import { compileOperator, never, type Predicate } from './operators.ts';
import type { UnleashConstraint, UnleashSegment } from './types.ts';

/** An unknown operator is false even when inverted, as in the SDK; `inverted` flips everything else. */
export function compileConstraint(constraint: UnleashConstraint | null | undefined): Predicate {
  if (!constraint || typeof constraint !== 'object') return never;
  const operator = compileOperator(constraint);
  if (!operator) return never;
  return constraint.inverted ? (ctx, env) => !operator(ctx, env) : operator;
}

export type SegmentLookup = (id: number) => readonly Predicate[] | undefined;

/** Compiles each segment's constraints once, however many strategies share it. */
export function createSegmentLookup(segments: readonly UnleashSegment[] = []): SegmentLookup {
  const byId = new Map<number, UnleashSegment>();
  for (const segment of segments) if (segment && typeof segment === 'object') byId.set(segment.id, segment);
  const compiled = new Map<number, readonly Predicate[]>();
  return (id) => {
    const cached = compiled.get(id);
    if (cached) return cached;
    const segment = byId.get(id);
    if (!segment) return undefined;
    const predicates = (Array.isArray(segment.constraints) ? segment.constraints : []).map(compileConstraint);
    compiled.set(id, predicates);
    return predicates;
  };
}

/**
 * One predicate for a strategy's own constraints plus those of its segments, or undefined when there
 * are none. A segment id the document does not define makes the strategy never match (SDK behaviour).
 */
export function compileConstraints(
  constraints: readonly UnleashConstraint[] | undefined,
  segmentIds: readonly number[] | undefined,
  lookupSegment: SegmentLookup,
): Predicate | undefined {
  const predicates: Predicate[] = Array.isArray(constraints) ? constraints.map(compileConstraint) : [];
  for (const id of Array.isArray(segmentIds) ? segmentIds : []) {
    const segment = lookupSegment(id);
    if (!segment) return never;
    predicates.push(...segment);
  }
  if (predicates.length === 0) return undefined;
  if (predicates.includes(never)) return never;
  if (predicates.length === 1) return predicates[0];
  return (ctx, env) => {
    for (const predicate of predicates) if (!predicate(ctx, env)) return false;
    return true;
  };
}
