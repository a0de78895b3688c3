import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromAlertmanager, fromGeneric, fromGrafana, labelFingerprint } from '../../src/alerts/adapt.ts';
import { alertmanagerPayload, genericPayload, grafanaPayload } from '../../src/alerts/schema.ts';

const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/alerts', name), 'utf8'));

describe('alert adapters', () => {
  it('reads an Alertmanager version 4 webhook into the one alert shape', () => {
    const alerts = fromAlertmanager(alertmanagerPayload.parse(fixture('alertmanager-v4.json')));
    expect(alerts).toEqual([
      {
        source: 'alertmanager',
        fingerprint: '1a30ba71cca2921f',
        status: 'firing',
        labels: {
          alertname: 'CheckoutErrors',
          instance: 'checkout-1:8080',
          job: 'checkout',
          service: 'checkout',
          severity: 'critical',
        },
        annotations: {
          summary: 'Checkout error ratio above 5 %',
          description: '5xx ratio on checkout-1:8080 has been above 5 % for 2 minutes.',
        },
        startsAt: Date.parse('2026-01-01T00:00:00.123Z'),
        summary: 'Checkout error ratio above 5 %',
      },
    ]);
  });

  it('reads a Grafana unified alerting webhook, ignoring the fields it does not need', () => {
    const [alert] = fromGrafana(grafanaPayload.parse(fixture('grafana.json')));
    expect(alert).toMatchObject({
      source: 'grafana',
      fingerprint: 'c6eadffa33fcdf37',
      status: 'firing',
      labels: { alertname: 'CheckoutLatencyHigh', team: 'payments', zone: 'eu-1' },
      startsAt: Date.parse('2025-12-31T22:00:03.157Z'),
      summary: 'Checkout p95 latency high in eu-1',
    });
  });

  it('rejects an Alertmanager payload of another version, naming the field', () => {
    const parsed = alertmanagerPayload.safeParse({ ...fixture('alertmanager-v4.json'), version: '5' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['version']);
  });

  it('defaults a generic alert to firing and derives its fingerprint from the labels', () => {
    const [alert] = fromGeneric(
      genericPayload.parse({ labels: { alertname: 'Boom', service: 'tasks' }, summary: 'it broke' }),
    );
    expect(alert).toMatchObject({
      source: 'generic',
      status: 'firing',
      startsAt: null,
      summary: 'it broke',
      annotations: { summary: 'it broke' },
      fingerprint: labelFingerprint({ service: 'tasks', alertname: 'Boom' }),
    });
  });

  it('accepts a list of generic alerts and keeps scalar label values as strings', () => {
    const alerts = fromGeneric(
      genericPayload.parse([
        { labels: { alertname: 'A', shard: 3 }, status: 'resolved', fingerprint: 'fp-1' },
        { labels: { alertname: 'B' } },
      ]),
    );
    expect(alerts.map((a) => [a.fingerprint, a.status, a.labels])).toEqual([
      ['fp-1', 'resolved', { alertname: 'A', shard: '3' }],
      [labelFingerprint({ alertname: 'B' }), 'firing', { alertname: 'B' }],
    ]);
  });

  it('rejects a generic alert without labels', () => {
    expect(genericPayload.safeParse({ labels: {}, status: 'firing' }).success).toBe(false);
    expect(genericPayload.safeParse({ status: 'firing' }).success).toBe(false);
  });
});
