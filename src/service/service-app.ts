// The service's Hono app: task and offer routes plus its health, mounted under /service.
import { Hono } from 'hono';
import { onError } from '../edge.ts';
import type { Logger } from '../log.ts';
import { createOfferRoutes, type OfferRouteDeps } from './offer-routes.ts';
import { createTaskRoutes, type TaskRouteDeps } from './task-routes.ts';

export type ServiceAppDeps = TaskRouteDeps &
  OfferRouteDeps & {
    log: Logger;
    /** What GET /health reports: flag sync, queue depth, workers, signal delivery. */
    health: () => Promise<Record<string, unknown>>;
  };

export function createServiceApp(deps: ServiceAppDeps) {
  const app = new Hono();
  app.route('/', createTaskRoutes(deps));
  app.route('/', createOfferRoutes(deps));
  app.get('/health', async (c) => c.json(await deps.health()));
  app.onError(onError(deps.log));
  return app;
}
