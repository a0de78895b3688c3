// Adapters from each sender's payload to the one alert shape.
import { createHash } from 'node:crypto';
import type {
  Alert,
  AlertmanagerPayload,
  AlertSource,
  AlertStatus,
  GenericAlert,
  GenericPayload,
  GrafanaPayload,
} from './schema.ts';

interface WebhookAlert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: string | undefined;
  fingerprint?: string | undefined;
}

export function fromAlertmanager(payload: AlertmanagerPayload): Alert[] {
  return payload.alerts.map((a) => fromWebhookAlert('alertmanager', a));
}

export function fromGrafana(payload: GrafanaPayload): Alert[] {
  return payload.alerts.map((a) => fromWebhookAlert('grafana', a));
}

export function fromGeneric(payload: GenericPayload): Alert[] {
  const list: GenericAlert[] = Array.isArray(payload) ? payload : [payload];
  return list.map((a) => {
    const annotations = { ...(a.annotations ?? {}), ...(a.summary ? { summary: a.summary } : {}) };
    return {
      source: 'generic',
      fingerprint: a.fingerprint ?? labelFingerprint(a.labels),
      status: a.status,
      labels: a.labels,
      annotations,
      startsAt: parseTime(a.startsAt),
      summary: a.summary ?? summaryOf(annotations),
    };
  });
}

function fromWebhookAlert(source: AlertSource, a: WebhookAlert): Alert {
  return {
    source,
    // Older Alertmanagers send no fingerprint; the label set identifies an alert the same way.
    fingerprint: a.fingerprint ?? labelFingerprint(a.labels),
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: parseTime(a.startsAt),
    summary: summaryOf(a.annotations),
  };
}

const summaryOf = (annotations: Record<string, string>) =>
  annotations.summary ?? annotations.description ?? annotations.message ?? null;

/** A stable identity for a label set: the same labels give the same fingerprint, whatever their order. */
export function labelFingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** RFC 3339 to ms; Go's zero time ("0001-01-01T00:00:00Z") and anything unparsable mean "not given". */
function parseTime(raw: string | undefined): number | null {
  if (!raw) return null;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

export const alertName = (alert: Pick<Alert, 'labels'>) => alert.labels.alertname ?? 'unnamed';
