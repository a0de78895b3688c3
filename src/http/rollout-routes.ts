// Manual rollout actions: start, pause, resume, promote, rollback — each checked against the current phase.
import { Hono } from 'hono';
import { z } from 'zod';
import { jsonBody } from '../edge.ts';
import { AppError } from '../errors.ts';
import { decideAction, type RolloutAction, rolloutActions } from '../rollout/actions.ts';
import type { Controller } from '../rollout/controller.ts';
import { flagView } from './admin-routes.ts';
import type { AuthEnv } from './auth.ts';

export const actionBody = z.strictObject({
  reason: z.string().trim().min(1).max(1000).optional(),
  to: z.enum(['next', 'full']).optional(),
});

export function createRolloutRoutes(deps: { controller: Controller }) {
  const { controller } = deps;
  const app = new Hono<AuthEnv>();
  for (const action of rolloutActions) {
    app.post(`/flags/:name/rollout/${action}`, async (c) => {
      const body = await jsonBody(c, actionBody);
      if (body.to && action !== 'promote') {
        throw new AppError('BAD_REQUEST', '"to" applies to promote only', {
          issues: [{ path: 'to', message: 'promote only' }],
        });
      }
      const name = c.req.param('name');
      const { flag, eventId } = controller.transition(name, c.var.principal.name, (current) =>
        decideAction(current, action as RolloutAction, body, controller.clock()),
      );
      return c.json({ flag: flagView(flag), eventId });
    });
  }
  return app;
}
