// The Hono application: route groups mounted with their token kinds, one error mapping for all.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AlertStore } from '../alerts/alert-store.ts';
import { notFound, onError } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { ArmsOf } from '../health/arms.ts';
import type { FlagHealth } from '../health/flag-health.ts';
import type { SignalIngest } from '../health/ingest.ts';
import type { Logger } from '../log.ts';
import { segmentFieldOf } from '../plans/signal-source.ts';
import type { Controller } from '../rollout/controller.ts';
import type { ReplicaStatus } from '../rollout/replicas.ts';
import type { ServedFeatures } from '../rollout/served.ts';
import type { Drills } from '../sdk/drill.ts';
import type { SdkRegistry } from '../sdk/instances.ts';
import { createAdminRoutes } from './admin-routes.ts';
import { createAlertAdminRoutes, createAlertRoutes } from './alert-routes.ts';
import { type AuditDeps, createAuditRoutes } from './audit-routes.ts';
import { type Authenticator, requireToken } from './auth.ts';
import { createClientRoutes } from './client-routes.ts';
import { createDeltaRoutes } from './delta-routes.ts';
import { createDrillRoutes } from './drill-routes.ts';
import { createFrontendRoutes, frontendCors } from './frontend-routes.ts';
import { createHealthRoutes } from './health-routes.ts';
import { countedIngest } from './metrics.ts';
import { createOfrepRoutes } from './ofrep-routes.ts';
import { createOpsRoutes, type Metrics } from './ops-routes.ts';
import { createOtlpRoutes } from './otlp-routes.ts';
import { createRolloutRoutes } from './rollout-routes.ts';
import { createServedEvaluator } from './served-evaluator.ts';
import { createSignalRoutes } from './signal-routes.ts';
import type { StreamingHub } from './streaming.ts';

/** Everything the routes act through; main.ts builds each piece once (tests build the same graph). */
export interface AppDeps {
  controller: Controller;
  auth: Authenticator;
  log: Logger;
  metrics: Metrics;
  flagsDir: string;
  /** Readiness with the check that failed: started, writes succeed, the plan watcher alive. */
  readiness: () => { ok: boolean; checks: Record<string, unknown> };
  /** Storage faults seen by requests mark the database unhealthy for readiness. */
  storage?: { fault(err: unknown): boolean };
  /** The served Unleash document, rebuilt once per state change. */
  served: ServedFeatures;
  streaming: StreamingHub;
  /** POST /api/signals and the SDKs' metrics land here: one ingestion path. */
  signals: SignalIngest;
  flagHealth: FlagHealth;
  alertStore: AlertStore;
  /** Random source for frontend and OFREP evaluation (random stickiness). */
  random: () => number;
  /** How long an unresolved alert counts as still firing (blocks restarts, rolls back later starts). */
  alertFiringTtlMs: number;
  /** The arms each served plan has: every signal path checks records against it. */
  arms: ArmsOf;
  /** The dashboard (src/ui), signed in with its own session cookie rather than a bearer token. */
  ui?: Hono;
  /** `rollgate audit`: runs on request and on schedule, the latest stored run, the trust ledger. */
  audits?: AuditDeps;
  /** SDK instances seen on the client API, and the rollback drills measured against them. */
  sdks?: SdkRegistry;
  drills?: Drills;
  /** This replica and the leader (GET /api/admin/replicas). */
  replicas?: () => ReplicaStatus;
}

export function createApp(deps: AppDeps) {
  const app = new Hono();
  const unleashSignals = countedIngest(deps.signals, deps.metrics, 'unleash');

  app.use(deps.metrics.http);
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
  app.route('/api/admin', createAlertAdminRoutes(deps));
  if (deps.audits)
    app.route('/api/admin', createAuditRoutes({ audits: deps.audits, clock: deps.controller.clock }));
  if (deps.sdks && deps.drills)
    app.route('/api/admin', createDrillRoutes({ sdks: deps.sdks, drills: deps.drills }));
  app.route('/api/admin', createHealthRoutes({ ...deps, signalStore: deps.signals.store }));
  app.route('/api/alerts', createAlertRoutes(deps));
  app.use('/api/signals', requireToken(deps.auth, ['client', 'ingest']));
  app.route(
    '/api/signals',
    createSignalRoutes({
      signals: countedIngest(deps.signals, deps.metrics, 'api'),
      clock: deps.controller.clock,
      arms: deps.arms,
    }),
  );

  app.use('/v1/metrics', requireToken(deps.auth, ['ingest']));
  app.route(
    '/v1',
    createOtlpRoutes({
      signals: countedIngest(deps.signals, deps.metrics, 'otlp'),
      onRejected: (n) => deps.metrics.signalsRejected('otlp', n),
      attributeNames: () =>
        new Map(
          deps.controller.listFlags().flatMap((f) => {
            const segment = segmentFieldOf(f.plan);
            const names = { ...f.plan.rollout?.opentelemetry, ...(segment ? { segment } : {}) };
            return Object.keys(names).length ? [[f.plan.name, names]] : [];
          }),
        ),
      arms: deps.arms,
      clock: deps.controller.clock,
      log: deps.log,
    }),
  );

  const evaluator = createServedEvaluator({
    served: deps.served,
    random: deps.random,
    now: deps.controller.clock,
  });
  app.use('/api/client/*', requireToken(deps.auth, ['client']));
  app.route('/api/client', createClientRoutes({ ...deps, signals: unleashSignals }));
  app.route('/api/client', createDeltaRoutes(deps));
  app.route('/api/client', deps.streaming.routes);
  app.use('/api/frontend/*', frontendCors, requireToken(deps.auth, ['frontend']));
  app.route(
    '/api/frontend',
    createFrontendRoutes({ ...deps, signals: unleashSignals, now: deps.controller.clock }),
  );
  app.use('/ofrep/*', requireToken(deps.auth, ['client', 'frontend']));
  app.route('/ofrep/v1', createOfrepRoutes({ evaluator }));

  if (deps.ui) {
    const ui = deps.ui;
    app.get('/', (c) => c.redirect('/ui', 302));
    app.route('/ui', ui);
  }

  app.notFound(notFound);
  app.onError(onError(deps.log, (err) => deps.storage?.fault(err)));
  return app;
}
