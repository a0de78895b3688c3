// Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI description.
import { Hono } from 'hono';
import type { Metrics } from './metrics.ts';
import { openApiJson } from './openapi.ts';

export { createMetrics, type Metrics } from './metrics.ts';

export function createOpsRoutes(deps: { metrics: Metrics; isReady: () => boolean }) {
  const app = new Hono();
  const openapi = openApiJson();
  app.get('/health/live', (c) => c.json({ status: 'ok' }));
  app.get('/health/ready', (c) =>
    deps.isReady() ? c.json({ status: 'ready' }) : c.json({ status: 'starting' }, 503),
  );
  app.get('/metrics', async (c) => {
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType });
  });
  app.get('/openapi.json', (c) =>
    c.body(openapi, 200, { 'content-type': 'application/json; charset=utf-8' }),
  );
  return app;
}
