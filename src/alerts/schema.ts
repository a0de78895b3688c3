// Alert webhook payloads as their senders document them (tolerant of extra fields), and the one alert shape inside.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const alertSources = ['alertmanager', 'grafana', 'generic'] as const;
export type AlertSource = (typeof alertSources)[number];
export type AlertStatus = 'firing' | 'resolved';

/** The one shape every adapter produces; matching, storage and rollback only ever see this. */
export interface Alert {
  source: AlertSource;
  fingerprint: string;
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When this firing episode began (ms since epoch); null when the sender did not say. */
  startsAt: number | null;
  summary: string | null;
}

const status = z.enum(['firing', 'resolved']);

/**
 * Bounds on what one alert may store: a flood of alerts with megabyte labels must not fill the disk, and must not
 * be refused either (a refused alert rolls nothing back), so long values are cut, marked, and kept.
 */
export const alertLimits = {
  labels: 64,
  name: 256,
  value: 1024,
  annotation: 4096,
  fingerprint: 256,
} as const;

const cut = (v: string, max: number) => (v.length > max ? `${v.slice(0, max - 1)}…` : v);

// Senders are other people's software: scalar label values are accepted and kept as strings.
const boundedMap = (valueMax: number) =>
  z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
    )
    .transform((m) =>
      Object.fromEntries(
        Object.entries(m)
          .slice(0, alertLimits.labels)
          .map(([k, v]) => [cut(k, alertLimits.name), cut(v, valueMax)]),
      ),
    );
const stringMap = boundedMap(alertLimits.value);
const annotationMap = boundedMap(alertLimits.annotation);

/** A sender's fingerprint longer than the limit is replaced by its hash: the same alert keeps one identity. */
const fingerprint = z
  .string()
  .min(1)
  .transform((f) =>
    f.length > alertLimits.fingerprint ? `sha256:${createHash('sha256').update(f).digest('hex')}` : f,
  );

const MAX_ALERTS = 1000;

/** One alert inside an Alertmanager (version 4) or Grafana unified alerting webhook body. */
const webhookAlert = z.object({
  status,
  labels: stringMap,
  annotations: annotationMap.default({}),
  startsAt: z.string().max(100).optional(),
  endsAt: z.string().max(100).optional(),
  generatorURL: z.string().optional(),
  fingerprint: fingerprint.optional(),
});

/** Prometheus Alertmanager `webhook_config` body; the shape has been version "4" since Alertmanager 0.9. */
export const alertmanagerPayload = z.object({
  version: z
    .string()
    .refine((v) => v === '4', {
      message: 'only version "4" of the Alertmanager webhook payload is understood',
    })
    .optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  status: status.optional(),
  receiver: z.string().optional(),
  groupLabels: stringMap.optional(),
  commonLabels: stringMap.optional(),
  commonAnnotations: annotationMap.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(webhookAlert).max(MAX_ALERTS),
});
export type AlertmanagerPayload = z.output<typeof alertmanagerPayload>;

/** Grafana unified alerting webhook contact point body: Alertmanager's shape plus Grafana's own fields. */
export const grafanaPayload = z.object({
  receiver: z.string().optional(),
  status: status.optional(),
  orgId: z.number().optional(),
  alerts: z
    .array(
      webhookAlert.extend({
        silenceURL: z.string().optional(),
        dashboardURL: z.string().optional(),
        panelURL: z.string().optional(),
        values: z.record(z.string(), z.unknown()).nullish(),
        valueString: z.string().optional(),
      }),
    )
    .max(MAX_ALERTS),
  groupLabels: stringMap.optional(),
  commonLabels: stringMap.optional(),
  commonAnnotations: annotationMap.optional(),
  externalURL: z.string().optional(),
  version: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().min(0).optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
});
export type GrafanaPayload = z.output<typeof grafanaPayload>;

/** Rollgate's own small shape, for scripts and curl: one alert or a list of them. */
const genericAlert = z.object({
  labels: stringMap.refine((l) => Object.keys(l).length > 0, { message: 'at least one label is needed' }),
  status: status.default('firing'),
  summary: z
    .string()
    .transform((v) => cut(v, alertLimits.annotation))
    .optional(),
  fingerprint: fingerprint.optional(),
  annotations: annotationMap.optional(),
  startsAt: z.string().max(100).optional(),
});
const genericList = z.array(genericAlert).min(1).max(MAX_ALERTS);
/**
 * One alert or a list. Chosen by the body's shape before parsing, so a 400 names the field (`labels`,
 * `[3].status`) instead of a union's "invalid input".
 */
export const genericPayload = z.custom<unknown>().transform((body, ctx) => {
  const parsed = (Array.isArray(body) ? genericList : genericAlert).safeParse(body);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom', message: issue.message });
  return z.NEVER;
});
export type GenericAlert = z.output<typeof genericAlert>;
export type GenericPayload = z.output<typeof genericPayload>;
