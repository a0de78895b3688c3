// Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI description.
import { Hono } from 'hono';
import type { Metrics } from './metrics.ts';
import { openApiJson } from './openapi.ts';

export { createMetrics, type Metrics } from './metrics.ts';

export function createOpsRoutes(deps: {
  metrics: Metrics;
  readiness: () => { ok: boolean; checks: Record<string, unknown> };
}) {
  const app = new Hono();
  const openapi = openApiJson();
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
  app.get('/openapi.json', (c) =>
    c.body(openapi, 200, { 'content-type': 'application/json; charset=utf-8' }),
  );
  return app;
}
