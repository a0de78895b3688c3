// Manual rollout actions: start, pause, resume, promote, rollback — each checked against the current phase.
import { Hono } from 'hono';
import { z } from 'zod';
import { type AlertStore, episodeKey } from '../alerts/alert-store.ts';
import { matchAlert } from '../alerts/match-alert.ts';
import { jsonBody } from '../edge.ts';
import { AppError } from '../errors.ts';
import { decideAction, type FiringAlert, type RolloutAction, rolloutActions } from '../rollout/actions.ts';
import type { Controller, Flag } from '../rollout/controller.ts';
import { flagView } from './admin-routes.ts';
import type { AuthEnv } from './auth.ts';

export const actionBody = z.strictObject({
  reason: z.string().trim().min(1).max(1000).optional(),
  to: z.enum(['next', 'full']).optional(),
  force: z.boolean().optional().describe('start only: start although a matching alert is still firing'),
});

export function createRolloutRoutes(deps: {
  controller: Controller;
  alertStore: AlertStore;
  alertFiringTtlMs: number;
}) {
  const { controller } = deps;
  /** Alerts still firing that would roll this flag back: a restart over them would be rolled back again. */
  const firingFor = (flag: Flag): FiringAlert[] =>
    deps.alertStore
      .firing(controller.clock() - deps.alertFiringTtlMs)
      .filter((a) => matchAlert(a.labels, [flag.plan]).length > 0)
      .map((a) => ({
        episode: episodeKey(a),
        alertname: a.alertname ?? '(unnamed)',
        source: a.source,
        startsAt: new Date(a.startsAt).toISOString(),
      }));
  const app = new Hono<AuthEnv>();
  for (const action of rolloutActions) {
    app.post(`/flags/:name/rollout/${action}`, async (c) => {
      const body = await jsonBody(c, actionBody);
      if (body.to && action !== 'promote') {
        throw new AppError('BAD_REQUEST', '"to" applies to promote only', {
          issues: [{ path: 'to', message: 'promote only' }],
        });
      }
      if (body.force !== undefined && action !== 'start')
        throw new AppError('BAD_REQUEST', '"force" applies to start only', {
          issues: [{ path: 'force', message: 'start only' }],
        });
      if (body.force && !body.reason)
        throw new AppError('BAD_REQUEST', 'a forced start needs a reason: it overrides a firing alert', {
          issues: [{ path: 'reason', message: 'required with force' }],
        });
      const name = c.req.param('name');
      const { flag, eventId } = controller.transition(name, c.var.principal.name, (current) =>
        decideAction(
          current,
          action as RolloutAction,
          action === 'start' ? { ...body, firingAlerts: firingFor(current) } : body,
          controller.clock(),
        ),
      );
      return c.json({ flag: flagView(flag), eventId });
    });
  }
  return app;
}
