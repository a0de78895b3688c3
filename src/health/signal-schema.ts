// The format of health signal records, as POST /api/signals and replay files carry them (the README's JSON Schema comes from here).
import { z } from 'zod';
import { formatPath } from '../edge.ts';
import { flagNamePattern } from '../plans/schema.ts';

/**
 * Per-record ceilings, far above anything one interval of one arm can hold, so that sums accumulated over any
 * retention stay finite and exact: 1e308 of revenue twice would otherwise store Infinity.
 */
export const signalLimits = { count: 1e12, amount: 1e15, squares: 1e30, latencyMs: 1e9 } as const;

const count = z
  .number()
  .int()
  .min(0)
  .max(signalLimits.count, `must be at most ${signalLimits.count} for one interval`);
const amount = z
  .number()
  .min(0)
  .max(signalLimits.amount, `must be at most ${signalLimits.amount} for one interval`);
const squares = z
  .number()
  .min(0)
  .max(signalLimits.squares, `must be at most ${signalLimits.squares} for one interval`);

const at = z
  .union([z.iso.datetime({ offset: true }), z.number().int().min(0)], {
    error: (issue) =>
      issue.input === undefined
        ? 'is required'
        : 'must be an ISO 8601 time with a zone (2026-11-02T10:00:00Z) or epoch milliseconds',
  })
  .transform((v) => (typeof v === 'number' ? v : Date.parse(v)))
  .describe('ISO 8601 time with a zone (or epoch milliseconds).');

const bucketSchema = z.strictObject({
  le: z
    .union([z.number().gt(0), z.literal('+Inf')])
    .describe('Upper bound in milliseconds, or "+Inf" for the last bucket.'),
  count: count.describe('Observations at or below `le` (cumulative, as in Prometheus).'),
});

export const latencyHistogramSchema = z
  .strictObject({
    count: count.describe('Requests whose latency was measured.'),
    sum: amount.describe('Sum of their latencies in milliseconds.'),
    sumSquares: squares.optional().describe('Sum of squared latencies, if known.'),
    buckets: z
      .array(bucketSchema)
      .optional()
      .describe(
        'Cumulative buckets, Prometheus-style: each count includes every observation at or below its bound; ' +
          'bounds strictly increase. Needed for tail (quantile) guardrails and for the log-latency test.',
      ),
  })
  .superRefine((h, ctx) => {
    const buckets = h.buckets ?? [];
    buckets.forEach((b, i) => {
      const prev = buckets[i - 1];
      const bound = b.le === '+Inf' ? Number.POSITIVE_INFINITY : b.le;
      const prevBound = prev ? (prev.le === '+Inf' ? Number.POSITIVE_INFINITY : prev.le) : 0;
      if (prev && bound <= prevBound)
        ctx.addIssue({
          code: 'custom',
          path: ['buckets', i, 'le'],
          message: 'bounds must strictly increase',
        });
      if (prev && b.count < prev.count)
        ctx.addIssue({
          code: 'custom',
          path: ['buckets', i, 'count'],
          message: `buckets are cumulative: ${b.count} is below the previous bucket's ${prev.count}`,
        });
      if (b.count > h.count)
        ctx.addIssue({
          code: 'custom',
          path: ['buckets', i, 'count'],
          message: `exceeds the histogram's count ${h.count}`,
        });
      if (b.le === '+Inf' && b.count !== h.count)
        ctx.addIssue({
          code: 'custom',
          path: ['buckets', i, 'count'],
          message: `the +Inf bucket must equal count ${h.count}`,
        });
    });
  });

/** Segment values as senders name regions, tenants and tiers; "(other)", the pooled segment, is not one. */
export const segmentPattern = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$/;

/** Whether a label or attribute value can be stored as a segment (what the record schema accepts). */
export const isSegment = (value: string): boolean => value.length <= 100 && segmentPattern.test(value);

const identity = {
  flag: z.string().regex(flagNamePattern, 'must be a flag name (lower-case letters, digits, ".", "_", "-")'),
  arm: z
    .string()
    .min(1)
    .max(100)
    .describe('"treatment" (flag on), "control" (flag off), or a variant name of a multivariate flag.'),
  segment: z
    .string()
    .min(1)
    .max(100)
    .regex(
      segmentPattern,
      'must be 1 to 100 letters, digits or . _ : @ / + - (no spaces), starting with a letter or digit',
    )
    .optional()
    .describe(
      "The value of the plan's `by:` context field for these requests (e.g. eu for by: region): also judged per value.",
    ),
};

export const intervalRecordSchema = z
  .strictObject({
    ...identity,
    at: at.describe('Start of the interval these counts cover; stored in the minute bucket it falls in.'),
    requests: count.optional().describe('Requests served in this arm during the interval.'),
    errors: count.optional().describe('Of those requests, how many failed. Needs `requests`.'),
    latencyMs: latencyHistogramSchema.optional(),
    conversions: count.optional().describe('Conversions (e.g. purchases) among the units.'),
    revenue: amount.optional().describe('Revenue from the units, capped per unit by the sender.'),
    revenueSquares: squares
      .optional()
      .describe(
        'Sum over units of (revenue per unit)²: without it the revenue test cannot estimate variance.',
      ),
    units: count
      .optional()
      .describe(
        'Distinct users or sessions exposed; denominator for conversions and revenue (else requests).',
      ),
    exposures: count.optional().describe('Flag evaluations in this arm (SDK impressions).'),
  })
  .superRefine((r, ctx) => {
    if (r.errors !== undefined && r.requests === undefined)
      ctx.addIssue({ code: 'custom', path: ['errors'], message: 'errors needs requests' });
    if (r.errors !== undefined && r.requests !== undefined && r.errors > r.requests)
      ctx.addIssue({ code: 'custom', path: ['errors'], message: `exceeds requests (${r.requests})` });
    for (const field of ['conversions', 'revenue'] as const) {
      if (r[field] !== undefined && r.units === undefined && r.requests === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} needs units (or requests)` });
    }
    if (r.revenueSquares !== undefined && r.revenue === undefined)
      ctx.addIssue({ code: 'custom', path: ['revenueSquares'], message: 'revenueSquares needs revenue' });
    const measures = [r.requests, r.latencyMs, r.conversions, r.revenue, r.units, r.exposures];
    if (measures.every((m) => m === undefined))
      ctx.addIssue({
        code: 'custom',
        message:
          'an interval record needs at least one of requests, latencyMs, conversions, revenue, exposures',
      });
  })
  .describe('Counts for one flag, arm and interval, aggregated by the sender.');

export const outcomeRecordSchema = z
  .strictObject({
    ...identity,
    at: at.optional().describe('When the request happened; defaults to the time of receipt.'),
    userId: z.string().min(1).max(200).optional(),
    sessionId: z.string().min(1).max(200).optional(),
    ok: z.boolean().describe('false when the request failed.'),
    latencyMs: z
      .number()
      .min(0)
      .max(signalLimits.latencyMs, `must be at most ${signalLimits.latencyMs} ms`)
      .optional(),
    conversion: z
      .union([z.boolean(), count])
      .optional()
      .describe('Whether (or how often) the user converted on this request.'),
    revenue: amount.optional(),
  })
  .describe('The outcome of one request; the user or session id makes units for conversions and revenue.');

export const signalRecordSchema = z.union([intervalRecordSchema, outcomeRecordSchema]);

export type IntervalRecord = z.output<typeof intervalRecordSchema>;
export type OutcomeRecord = z.output<typeof outcomeRecordSchema>;
export type SignalRecord = IntervalRecord | OutcomeRecord;
export type LatencyHistogram = z.output<typeof latencyHistogramSchema>;

export const isOutcome = (r: SignalRecord): r is OutcomeRecord => 'ok' in r;

export type BatchResult =
  | { ok: true; records: SignalRecord[] }
  | { ok: false; index: number | null; path: string; reason: string };

/** Records may be sent this far ahead of the receiver's clock (clock skew), no further. */
export const maxFutureMs = 5 * 60_000;

/**
 * Parses `{ records: [...] }` or a bare array. The first bad record rejects the batch, named by its index.
 * Each record is checked against one schema, chosen by `ok`, so the reason is that schema's, not a union's.
 */
export function parseSignalBatch(body: unknown, now: number): BatchResult {
  const list = Array.isArray(body)
    ? body
    : body && typeof body === 'object' && Array.isArray((body as { records?: unknown }).records)
      ? (body as { records: unknown[] }).records
      : null;
  if (!list)
    return {
      ok: false,
      index: null,
      path: '',
      reason: 'body must be an array of records or { "records": [...] }',
    };
  const records: SignalRecord[] = [];
  for (let index = 0; index < list.length; index++) {
    const raw = list[index];
    const schema = raw && typeof raw === 'object' && 'ok' in raw ? outcomeRecordSchema : intervalRecordSchema;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return {
        ok: false,
        index,
        path: issue ? formatPath(issue.path) : '',
        reason: issue?.message ?? 'rejected',
      };
    }
    const record = parsed.data;
    if (record.at !== undefined && record.at > now + maxFutureMs)
      return { ok: false, index, path: 'at', reason: 'is more than 5 minutes in the future' };
    records.push(record);
  }
  return { ok: true, records };
}

/** JSON Schema (draft 2020-12) of one record, for the README and for senders that validate before posting. */
export function signalRecordJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(signalRecordSchema, { io: 'input', target: 'draft-2020-12' });
  return { ...schema, title: 'Rollgate signal record' };
}
