// The Hono application: route groups mounted with their token kinds, one error mapping for all.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { type AlertStore, createAlertStore } from '../alerts/alert-store.ts';
import { AppError, httpStatusOf } from '../errors.ts';
import { createFlagHealth, type FlagHealth } from '../health/flag-health.ts';
import { createSignalIngest, type SignalIngest } from '../health/ingest.ts';
import type { Logger } from '../log.ts';
import type { Controller } from '../rollout/controller.ts';
import { createServedFeatures, type ServedFeatures } from '../rollout/served.ts';
import { createAdminRoutes } from './admin-routes.ts';
import { createAlertAdminRoutes, createAlertRoutes } from './alert-routes.ts';
import { type Authenticator, requireToken } from './auth.ts';
import { createClientRoutes, type SignalSink } from './client-routes.ts';
import { createFrontendRoutes, frontendCors } from './frontend-routes.ts';
import { createHealthRoutes } from './health-routes.ts';
import { createOfrepRoutes } from './ofrep-routes.ts';
import { createOpsRoutes, type Metrics } from './ops-routes.ts';
import { createRolloutRoutes } from './rollout-routes.ts';
import { createServedEvaluator } from './served-evaluator.ts';
import { createSignalRoutes } from './signal-routes.ts';
import { createStreamingHub, type StreamingHub } from './streaming.ts';

export interface AppDeps {
  controller: Controller;
  auth: Authenticator;
  log: Logger;
  metrics: Metrics;
  flagsDir: string;
  isReady: () => boolean;
  /** The served Unleash document; built from the controller when absent. */
  served?: ServedFeatures;
  streaming?: StreamingHub;
  /** Receives SDK metrics (exposures, impact metrics); the signal ingest when absent. */
  signals?: SignalSink;
  /** Random source for frontend and OFREP evaluation (random stickiness). */
  random?: () => number;
  /** Received alerts; built on the controller's database when absent. */
  alertStore?: AlertStore;
  /** POST /api/signals intake; built on the controller's database when absent. */
  signalIngest?: SignalIngest;
  /** Verdicts for the health endpoint; built on the signal store when absent. */
  flagHealth?: FlagHealth;
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function createApp(deps: AppDeps) {
  const app = new Hono();

  app.use(
    bodyLimit({
      maxSize: 5 * 1024 * 1024,
      onError: () => {
        throw new AppError('PAYLOAD_TOO_LARGE', 'body larger than 5 MiB');
      },
    }),
  );
  app.route('/', createOpsRoutes(deps));

  app.use('/api/admin/*', requireToken(deps.auth, ['admin']));
  app.route('/api/admin', createAdminRoutes(deps));
  app.route('/api/admin', createRolloutRoutes(deps));
  const alertStore = deps.alertStore ?? createAlertStore(deps.controller.db);
  app.route('/api/admin', createAlertAdminRoutes({ alertStore }));
  app.route('/api/alerts', createAlertRoutes({ ...deps, alertStore }));
  const { controller, log } = deps;
  const signalIngest =
    deps.signalIngest ?? createSignalIngest({ db: controller.db, clock: controller.clock, log });
  const flagHealth = deps.flagHealth ?? createFlagHealth({ store: signalIngest.store });
  app.route('/api/admin', createHealthRoutes({ controller, flagHealth, signalStore: signalIngest.store }));
  app.use('/api/signals', requireToken(deps.auth, ['client', 'ingest']));
  app.route('/api/signals', createSignalRoutes({ signals: signalIngest, clock: controller.clock }));

  const served = deps.served ?? createServedFeatures(deps);
  const streaming = deps.streaming ?? createStreamingHub({ served, log: deps.log });
  const random = deps.random ?? Math.random;
  const signals = deps.signals ?? signalIngest;
  const evaluator = createServedEvaluator({ served, random, now: deps.controller.clock });
  app.use('/api/client/*', requireToken(deps.auth, ['client']));
  app.route('/api/client', createClientRoutes({ served, signals, log: deps.log }));
  app.route('/api/client', streaming.routes);
  app.use('/api/frontend/*', frontendCors, requireToken(deps.auth, ['frontend']));
  app.route('/api/frontend', createFrontendRoutes({ evaluator, signals, log: deps.log }));
  app.use('/ofrep/*', requireToken(deps.auth, ['client', 'frontend']));
  app.route('/ofrep/v1', createOfrepRoutes({ evaluator }));

  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof AppError) {
      return c.json(errorBody(err.code, err.message, err.details), httpStatusOf[err.code]);
    }
    if (err instanceof HTTPException) {
      return c.json(
        errorBody(err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', err.message),
        err.status,
      );
    }
    deps.log.error('unhandled error', { err, method: c.req.method, path: c.req.path });
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  });
  return app;
}
