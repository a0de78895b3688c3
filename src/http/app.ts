// The Hono application: route groups mounted with their token kinds, one error mapping for all.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { AppError, httpStatusOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Controller } from '../rollout/controller.ts';
import { createAdminRoutes } from './admin-routes.ts';
import { type Authenticator, requireToken } from './auth.ts';
import { createOpsRoutes, type Metrics } from './ops-routes.ts';
import { createRolloutRoutes } from './rollout-routes.ts';

export interface AppDeps {
  controller: Controller;
  auth: Authenticator;
  log: Logger;
  metrics: Metrics;
  flagsDir: string;
  isReady: () => boolean;
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
