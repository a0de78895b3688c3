// Rollgate's own Prometheus metrics: process, HTTP, signal intake, alerts, streams, scheduler and guardrail statistics.

import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestOptions, SdkMetricsOptions, SignalIngest } from '../health/ingest.ts';
import type { SignalRecord } from '../health/signal-schema.ts';
import type { Verdict } from '../health/verdict.ts';
import { verdictStatistic } from '../health/verdict-statistic.ts';
import type { Controller } from '../rollout/controller.ts';
import { phases } from '../rollout/state.ts';
import { evictionReasons, type RegistryStats, refusalReasons } from '../sdk/instances.ts';

export type Metrics = ReturnType<typeof createMetrics>;

/** Parts built after the metrics that they report on; attached once they exist. */
export interface MetricSources {
  sseClients?: () => number;
  outbox?: () => { pending: number; inFlight: number; failed: number; retried: number };
  replica?: () => { id: string; leading: boolean; leader: { id: string } | null };
  sdkInstances?: () => RegistryStats;
}

export type SignalSource = 'api' | 'unleash' | 'otlp' | 'prometheus';

export function createMetrics(controller: Controller) {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // prom-client also exports each of these gauges as *_total, which promtool rejects (that suffix promises a
  // counter); the same values stay exported without the suffix (nodejs_active_handles, …).
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const sources: MetricSources = {};

  const transitions = new Counter({
    name: 'rollgate_flag_transitions_total',
    help: 'Flag state transitions written, by flag.',
    labelNames: ['flag'],
    registers,
  });
  controller.onChange((flags) => {
    for (const flag of flags) transitions.inc({ flag });
  });
  new Gauge({
    name: 'rollgate_flag_percent',
    help: 'Percent of users served each flag.',
    labelNames: ['flag'],
    registers,
    collect() {
      this.reset();
      for (const f of controller.listFlags()) this.set({ flag: f.plan.name }, f.percent);
    },
  });
  new Gauge({
    name: 'rollgate_flag_phase',
    help: 'Rollout phase of each flag (1 for the current phase).',
    labelNames: ['flag', 'phase'],
    registers,
    collect() {
      this.reset();
      for (const f of controller.listFlags()) {
        for (const phase of phases) this.set({ flag: f.plan.name, phase }, f.state.phase === phase ? 1 : 0);
      }
    },
  });

  new Gauge({
    name: 'rollgate_replica_leader',
    help: 'Which replica runs the scheduler: 1 for this replica when it leads, and the leader it last saw.',
    labelNames: ['replica', 'leader'],
    registers,
    collect() {
      this.reset();
      const r = sources.replica?.();
      if (r) this.set({ replica: r.id, leader: r.leader?.id ?? '' }, r.leading ? 1 : 0);
    },
  });

  const httpDuration = new Histogram({
    name: 'rollgate_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const accepted = new Counter({
    name: 'rollgate_signals_accepted_total',
    help: 'Signal records stored, by source (api = POST /api/signals, unleash, otlp, prometheus).',
    labelNames: ['source'],
    registers,
  });
  const rejected = new Counter({
    name: 'rollgate_signals_rejected_total',
    help: 'Signals refused, by source: api counts whole batches refused with 400 (all or nothing), otlp counts data points refused in a partial success.',
    labelNames: ['source'],
    registers,
  });
  const unattributed = new Counter({
    name: 'rollgate_impact_metrics_unattributed_total',
    help: 'Unleash impact-metric samples without a flag context (no flag and arm labels): not attributable to an arm, so not stored.',
    labelNames: ['metric'],
    registers,
  });
  const alerts = new Counter({
    name: 'rollgate_alert_notifications_total',
    help: 'Alert notifications received, by endpoint and result: matched (some alert matched a flag), unmatched, refused (4xx), retry (5xx).',
    labelNames: ['source', 'result'],
    registers,
  });
  new Gauge({
    name: 'rollgate_sse_clients',
    help: 'Open SDK streaming connections.',
    registers,
    collect() {
      this.set(sources.sseClients?.() ?? 0);
    },
  });
  new Gauge({
    name: 'rollgate_notification_outbox',
    help: 'Transition notifications waiting in the outbox (pending) or being sent (in_flight).',
    labelNames: ['state'],
    registers,
    collect() {
      const s = sources.outbox?.();
      this.set({ state: 'pending' }, s?.pending ?? 0);
      this.set({ state: 'in_flight' }, s?.inFlight ?? 0);
    },
  });
  new Gauge({
    name: 'rollgate_notification_failures',
    help: 'Notification attempts since start that will be retried (retried) or were given up (failed).',
    labelNames: ['kind'],
    registers,
    collect() {
      const s = sources.outbox?.();
      this.set({ kind: 'retried' }, s?.retried ?? 0);
      this.set({ kind: 'failed' }, s?.failed ?? 0);
    },
  });
  // The SDK instance registry's bounds at work: its counts live in the registry, read at scrape time.
  new Gauge({
    name: 'rollgate_sdk_instances',
    help: 'SDK instances in the registry: proven (seen on two requests or more, judged by the audit) or unproven.',
    labelNames: ['state'],
    registers,
    collect() {
      const s = sources.sdkInstances?.();
      this.set({ state: 'proven' }, s ? s.instances - s.unproven : 0);
      this.set({ state: 'unproven' }, s?.unproven ?? 0);
    },
  });
  new Counter({
    name: 'rollgate_sdk_instances_refused_total',
    help: 'New SDK instance ids not registered (the request itself was answered), by reason: invalid (app name or instance id malformed or too long), app_full or registry_full (every instance there proven and active).',
    labelNames: ['reason'],
    registers,
    collect() {
      const s = sources.sdkInstances?.();
      this.reset();
      for (const reason of refusalReasons) this.inc({ reason }, s?.refused[reason] ?? 0);
    },
  });
  new Counter({
    name: 'rollgate_sdk_instances_evicted_total',
    help: 'SDK instances dropped from the registry, by reason: unproven or idle (replaced by a new id when full), probation (seen on one request, not again within an hour), retention.',
    labelNames: ['reason'],
    registers,
    collect() {
      const s = sources.sdkInstances?.();
      this.reset();
      for (const reason of evictionReasons) this.inc({ reason }, s?.evicted[reason] ?? 0);
    },
  });
  const tick = new Histogram({
    name: 'rollgate_scheduler_tick_duration_seconds',
    help: 'Time one scheduler pass over every due rollout took.',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });

  // The scheduler's last verdict per flag: exported as is, never recomputed for a scrape.
  const verdicts = new Map<string, Verdict>();
  const guardrailGauge = (name: string, help: string, pick: 'statistic' | 'threshold') =>
    new Gauge({
      name,
      help,
      labelNames: ['flag', 'guardrail', 'index'],
      registers,
      collect() {
        this.reset();
        for (const [flag, v] of verdicts) {
          if (!controller.getFlag(flag)) continue;
          for (const g of v.guardrails) {
            const s = verdictStatistic(g.evidence);
            if (s) this.set({ flag, guardrail: g.name, index: String(g.index) }, s[pick]);
          }
        }
      },
    });
  guardrailGauge(
    'rollgate_guardrail_statistic',
    "Each guardrail's current test statistic (log scale) from the last reconcile; it acts at rollgate_guardrail_threshold.",
    'statistic',
  );
  guardrailGauge(
    'rollgate_guardrail_threshold',
    'The value of rollgate_guardrail_statistic at which the guardrail regresses.',
    'threshold',
  );

  const httpChildren = new Map<string, ReturnType<typeof httpDuration.labels>>();
  const http: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const matched = routePath(c, -1);
    // A request no handler matched keeps one label value, whatever path it asked for.
    const route = status === 404 && matched.endsWith('*') ? 'unmatched' : matched;
    // One labelled child per (method, route, status), looked up by a plain string: the polling hot path
    // pays a Map lookup, not prom-client's label hashing.
    const key = `${c.req.method} ${status} ${route}`;
    let child = httpChildren.get(key);
    if (!child) {
      child = httpDuration.labels({ method: c.req.method, route, status });
      httpChildren.set(key, child);
    }
    child.observe((performance.now() - started) / 1000);
    if (c.req.method === 'POST' && route === '/api/signals' && status === 400)
      rejected.inc({ source: 'api' });
    if (c.req.method === 'POST' && route.startsWith('/api/alerts')) {
      const source = route.slice('/api/alerts'.length).replace(/^\//, '') || 'generic';
      const result =
        status === 200 ? 'matched' : status === 202 ? 'unmatched' : status >= 500 ? 'retry' : 'refused';
      alerts.inc({ source, result });
    }
  };

  return {
    registry,
    http,
    attach(more: MetricSources) {
      Object.assign(sources, more);
    },
    signalsAccepted: (source: SignalSource, n: number) => n > 0 && accepted.inc({ source }, n),
    signalsRejected: (source: SignalSource, n: number) => n > 0 && rejected.inc({ source }, n),
    unattributedImpact: (metric: string) => unattributed.inc({ metric }),
    tickTook: (ms: number) => tick.observe(ms / 1000),
    verdict(flag: string, verdict: Verdict) {
      verdicts.set(flag, verdict);
    },
  };
}

/** The one ingestion path, counted by where its records came from. */
export function countedIngest<S extends SignalIngest>(signals: S, metrics: Metrics, source: SignalSource): S {
  return {
    ...signals,
    ingest(records: SignalRecord[], opts?: IngestOptions) {
      const result = signals.ingest(records, opts);
      // A replayed batch stored nothing now: it was counted when it was stored.
      if (!result.replayed) metrics.signalsAccepted(source, result.accepted);
      return result;
    },
    ingestUnleashMetrics(
      payload: unknown,
      from: { appName?: string; instanceId?: string },
      opts?: SdkMetricsOptions,
    ) {
      const result = signals.ingestUnleashMetrics(payload, from, opts);
      if (!result.replayed) metrics.signalsAccepted('unleash', result.accepted);
      return result;
    },
  };
}
