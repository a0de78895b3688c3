// Which segment the service reports its outcomes under: the value of one context field (the region by default),
// read from the request, so a plan's guardrail `by: region` judges each region on the service's own signals.
import type { Context } from 'hono';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { isSegment, segmentPattern } from '../health/signal-schema.ts';

/** The request header that names the caller's region (the simulator and the demo traffic set it). */
export const regionHeader = 'x-region';

/** The context fields the service can report a segment for; `none` reports no segment at all. */
export const segmentFields = ['region', 'tenantId', 'none'] as const;
export type SegmentBy = (typeof segmentFields)[number];

const regionSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(
    segmentPattern,
    'must be 1 to 100 letters, digits or . _ : @ / + - (no spaces), starting with a letter or digit',
  )
  .optional();

/** The caller's region from its X-Region header, if it sent one; a malformed one is refused naming the header. */
export function regionOf(c: Context): string | undefined {
  const parsed = regionSchema.safeParse(c.req.header(regionHeader));
  if (parsed.success) return parsed.data;
  throw new AppError(
    'BAD_REQUEST',
    `header ${regionHeader}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
  );
}

/**
 * The segment of an outcome: the chosen field's value when it is one Rollgate stores as a segment (a tenant id
 * with a space, say, is not), else none. An outcome without a segment still counts in the whole population.
 */
export function segmentFor(
  by: SegmentBy,
  ctx: { region?: string | undefined; tenantId?: string | undefined },
): string | undefined {
  if (by === 'none') return undefined;
  const value = ctx[by];
  return value !== undefined && isSegment(value) ? value : undefined;
}
