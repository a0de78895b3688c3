// The plan-file format: the single source of truth for flags/*.yaml (the JSON Schema is generated from it).
import { z } from 'zod';

export const durationPattern = /^(0|(\d+(\.\d+)?(ms|s|m|h|d))+)$/;
export const flagNamePattern = /^[a-z0-9][a-z0-9._-]{0,99}$/;
/** Served by Rollgate itself during a rollback drill (src/sdk/drill.ts): no plan may take it. */
export const DRILL_FLAG = 'rollgate.drill';
const contextField = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** The most values one `by:` guardrail may test on their own: the budget is split across them in advance. */
export const maxSegmentsLimit = 100;
export const defaultMaxSegments = 20;

export const knownMetrics = ['errors', 'latency', 'conversions', 'revenue'] as const;
export type KnownMetric = (typeof knownMetrics)[number];

const duration = z.string().regex(durationPattern, 'must be a duration such as 30s, 10m, 1h or 1h30m');

export const stageSchema = z.strictObject({
  percent: z.number().gt(0).max(100).describe('Share of users served the change at this stage, in percent.'),
  bake: duration.optional().describe('Minimum time at this stage before it may advance (e.g. 10m).'),
  minRequests: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Minimum treatment requests observed at this stage before it may advance.'),
});

export const signalSources = ['signals', 'prometheus'] as const;

const promql = z.string().min(1).max(4000);

/** PromQL templates, evaluated per arm with `$flag`, `$arm` and `$interval` substituted (and escaped). */
export const prometheusQueriesSchema = z
  .strictObject({
    requests: promql
      .optional()
      .describe(
        'Requests per interval for one arm, e.g. sum(increase(http_requests_total{flag="$flag",arm="$arm"}[$interval])).',
      ),
    errors: promql.optional().describe('Failed requests per interval for one arm (errors guardrails).'),
    latency: promql
      .optional()
      .describe(
        'Histogram buckets per interval for one arm, one series per `le`: sum by (le) (increase(…_bucket{…}[$interval])).',
      ),
    latencySum: promql
      .optional()
      .describe('Sum of latencies per interval for one arm (…_sum); estimated from the buckets when absent.'),
    latencyUnit: z.enum(['s', 'ms']).optional().describe('Unit of the `le` bounds and the sum; default s.'),
  })
  .describe('Where a Prometheus-sourced guardrail reads its signals.');

export const guardrailSchema = z.strictObject({
  metric: z.string().describe(`Health metric: one of ${knownMetrics.join(', ')}.`),
  source: z
    .enum(signalSources)
    .optional()
    .describe("Where this guardrail reads its signals; default: the rollout's source."),
  prometheus: prometheusQueriesSchema
    .optional()
    .describe("Queries for this guardrail; fields given here override the rollout's."),
  worse: z.enum(['higher', 'lower']).describe('Which direction of the metric is a regression.'),
  quantile: z
    .number()
    .gt(0)
    .lt(1)
    .optional()
    .describe(
      'For latency: watch this tail (e.g. 0.95) by counting requests above a threshold fixed from control.',
    ),
  max: z
    .number()
    .min(0)
    .optional()
    .describe('Absolute limit (an SLO): treatment must stay at or below this value.'),
  min: z.number().min(0).optional().describe('Absolute limit: treatment must stay at or above this value.'),
  relative: z
    .number()
    .gt(0)
    .lt(10)
    .optional()
    .describe(
      'Smallest relative change worth catching (0.2 = 20 %); tunes the sequential test. Default per metric.',
    ),
  cap: z
    .number()
    .gt(0)
    .optional()
    .describe('For revenue: per-user values are capped here, fixed before the rollout.'),
  by: z
    .string()
    .max(100)
    .regex(contextField, 'must be a context field name such as region, tenantId or plan')
    .optional()
    .describe(
      'Also run this test per value of this context field (region, tenantId, plan tier…): a regression in any ' +
        'value rolls back, naming it, even when the whole population looks healthy. Signals carry the value as `segment`.',
    ),
  maxSegments: z
    .number()
    .int()
    .min(1)
    .max(maxSegmentsLimit)
    .optional()
    .describe(
      `With by: how many values get a test of their own (default ${defaultMaxSegments}), the first to report; ` +
        'later ones are pooled into "(other)", tested too. The budget is split over maxSegments + 1 tests.',
    ),
  requireEachSegment: z
    .boolean()
    .optional()
    .describe(
      "With by: hold until every segment has enough data to be judged. Default false: a small segment's missing " +
        'data never holds the rollout; a regression in it always acts.',
    ),
});

export const alertMatcherSchema = z.strictObject({
  match: z.record(z.string(), z.string()).optional().describe('Labels that must equal these values.'),
  matchRe: z
    .record(z.string(), z.string())
    .optional()
    .describe('Labels that must fully match these regular expressions.'),
});

export const rolloutSchema = z.strictObject({
  stages: z.array(stageSchema).min(1).describe('Percentages in increasing order, ending at 100.'),
  source: z
    .enum(signalSources)
    .optional()
    .describe(
      'Where every guardrail reads its signals unless it names its own: pushed signals (default) or Prometheus.',
    ),
  prometheus: prometheusQueriesSchema
    .optional()
    .describe('PromQL templates for Prometheus-sourced guardrails.'),
  opentelemetry: z
    .strictObject({
      flag: z
        .string()
        .min(1)
        .max(255)
        .optional()
        .describe(
          "Attribute whose value is this flag's name, when the service does not send feature_flag.key.",
        ),
      variant: z
        .string()
        .min(1)
        .max(255)
        .optional()
        .describe('Attribute holding the variant (the arm), read before feature_flag.result.variant.'),
    })
    .optional()
    .describe('OpenTelemetry attribute names this flag is reported under on POST /v1/metrics.'),
  guardrails: z.array(guardrailSchema).default([]),
  alerts: z.array(alertMatcherSchema).default([]).describe('Alerts whose labels match roll this flag back.'),
  onRegression: z.enum(['rollback', 'step-back', 'pause']).default('rollback'),
  holdback: z
    .number()
    .min(0)
    .max(50)
    .optional()
    .describe('Percent of users kept on control after 100 %, to keep watching for drift.'),
  alpha: z
    .number()
    .gt(0)
    .max(0.2)
    .default(0.01)
    .describe('False-rollback budget per rollout, split across guardrails.'),
});

export const variantSchema = z.strictObject({
  name: z.string().min(1).max(100),
  weight: z.number().min(0).max(100).describe('Percent of enabled users; weights sum to 100.'),
  payload: z
    .strictObject({ type: z.enum(['string', 'json', 'csv', 'number']), value: z.string() })
    .optional(),
  stickiness: z.string().regex(contextField).optional(),
});

export const constraintSchema = z.strictObject({
  contextName: z.string().min(1),
  operator: z.enum([
    'IN',
    'NOT_IN',
    'STR_CONTAINS',
    'STR_STARTS_WITH',
    'STR_ENDS_WITH',
    'NUM_EQ',
    'NUM_GT',
    'NUM_GTE',
    'NUM_LT',
    'NUM_LTE',
    'DATE_AFTER',
    'DATE_BEFORE',
    'SEMVER_EQ',
    'SEMVER_GT',
    'SEMVER_LT',
    'REGEX',
    'IN_CIDR',
  ]),
  values: z.array(z.string()).optional(),
  value: z.string().optional(),
  inverted: z.boolean().optional(),
  caseInsensitive: z.boolean().optional(),
});

export const dependencySchema = z.strictObject({
  flag: z.string().regex(flagNamePattern),
  enabled: z.boolean().default(true),
  variants: z.array(z.string()).optional(),
});

export const planSchema = z
  .strictObject({
    name: z
      .string()
      .regex(flagNamePattern, 'lower-case letters, digits, ".", "_" and "-", at most 100')
      .refine((n) => n !== DRILL_FLAG, `"${DRILL_FLAG}" is reserved for rollback drills`),
    description: z.string().min(1),
    owner: z.string().min(1),
    type: z.enum(['release', 'experiment', 'operational', 'kill-switch']),
    stickiness: z
      .string()
      .regex(contextField)
      .default('default')
      .describe('Context field that buckets users: default, userId, sessionId or any context field.'),
    enabled: z
      .boolean()
      .default(false)
      .describe('For flags without a rollout: whether the flag starts on. Runtime state owns it afterwards.'),
    constraints: z
      .array(constraintSchema)
      .default([])
      .describe('Targeting: only matching contexts are eligible.'),
    variants: z.array(variantSchema).optional(),
    dependencies: z.array(dependencySchema).optional(),
    rollout: rolloutSchema.optional(),
  })
  .describe('A Rollgate plan: one flag and how it is rolled out.');

export type Plan = z.output<typeof planSchema>;
export type PlanInput = z.input<typeof planSchema>;
export type Stage = z.output<typeof stageSchema>;
export type Guardrail = z.output<typeof guardrailSchema>;
export type Rollout = z.output<typeof rolloutSchema>;
export type PrometheusQueries = z.output<typeof prometheusQueriesSchema>;
