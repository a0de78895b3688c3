// Operations endpoints: liveness, readiness and Prometheus metrics.
import { Hono } from 'hono';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Controller } from '../rollout/controller.ts';
import { phases } from '../rollout/state.ts';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(controller: Controller) {
  const registry = new Registry();
  const transitions = new Counter({
    name: 'rollgate_flag_transitions_total',
    help: 'Flag state transitions written, by flag.',
    labelNames: ['flag'],
    registers: [registry],
  });
  controller.onChange((flags) => {
    for (const flag of flags) transitions.inc({ flag });
  });
  new Gauge({
    name: 'rollgate_flag_percent',
    help: 'Percent of users served each flag.',
    labelNames: ['flag'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of controller.listFlags()) this.set({ flag: f.plan.name }, f.percent);
    },
  });
  new Gauge({
    name: 'rollgate_flag_phase',
    help: 'Rollout phase of each flag (1 for the current phase).',
    labelNames: ['flag', 'phase'],
    registers: [registry],
    collect() {
      this.reset();
      for (const f of controller.listFlags()) {
        for (const phase of phases) this.set({ flag: f.plan.name, phase }, f.state.phase === phase ? 1 : 0);
      }
    },
  });
  return { registry };
}

export function createOpsRoutes(deps: {
  metrics: Metrics;
  readiness: () => { ok: boolean; checks: Record<string, unknown> };
}) {
  const app = new Hono();
  app.get('/health/live', (c) => c.json({ status: 'ok' }));
  // 503 names the failing check (database writes, plan watcher), so the person paged knows where to look.
  app.get('/health/ready', (c) => {
    const { ok, checks } = deps.readiness();
    return c.json({ status: ok ? 'ready' : 'not ready', checks }, ok ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });
  return app;
}
