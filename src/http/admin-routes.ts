// Admin API: flags with their state and recent events, the kill switch, the audit log, plan reloads.
import { Hono } from 'hono';
import { z } from 'zod';
import { isoOrNull } from '../clock.ts';
import { jsonBody, query } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { FlagHealth } from '../health/flag-health.ts';
import type { Controller, Flag } from '../rollout/controller.ts';
import type { ReplicaStatus } from '../rollout/replicas.ts';
import type { AuthEnv } from './auth.ts';

export const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(1000).optional() });

export const eventsQuery = z.strictObject({
  flag: z.string().optional(),
  type: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
});

export function flagView(flag: Flag) {
  const stages = flag.plan.rollout?.stages ?? [];
  return {
    name: flag.plan.name,
    type: flag.plan.type,
    description: flag.plan.description,
    owner: flag.plan.owner,
    file: flag.file,
    enabled: flag.state.enabled,
    phase: flag.state.phase,
    percent: flag.percent,
    stage: stages.length ? { index: flag.state.stage, of: stages.length, ...stages[flag.state.stage] } : null,
    stageStartedAt: isoOrNull(flag.state.stageStartedAt),
    startedAt: isoOrNull(flag.state.startedAt),
    watchSince: isoOrNull(flag.state.watchSince),
    phaseReason: flag.state.phaseReason,
    version: flag.state.version,
    updatedAt: isoOrNull(flag.state.updatedAt),
  };
}

export function eventView(e: ReturnType<Controller['events']['list']>[number]) {
  return { ...e, at: isoOrNull(e.at) };
}

export function createAdminRoutes(deps: {
  controller: Controller;
  flagsDir: string;
  flagHealth: FlagHealth;
  /** Which replica this is and which leads; one process on SQLite always leads. */
  replicas?: () => ReplicaStatus;
}) {
  const { controller, flagHealth } = deps;
  const app = new Hono<AuthEnv>();

  app.get('/replicas', (c) => {
    if (!deps.replicas) throw new AppError('NOT_FOUND', 'replicas are not reported by this server');
    return c.json(deps.replicas());
  });

  /** The current verdict, in short: what reconcile would act on now, and why. Plain flags have none. */
  const verdictOf = (flag: Flag) => {
    if (!flag.plan.rollout) return null;
    const v = flagHealth.assess(flag, controller.clock());
    return {
      status: v.status,
      guardrails: v.guardrails.map((g) => ({
        name: g.name,
        status: g.status,
        summary: g.summary,
        ...(g.segment ? { segment: g.segment } : {}),
        ...(g.advisory ? { advisory: true } : {}),
      })),
      srm: { status: v.srm.status, summary: v.srm.summary },
      exposure: v.exposure,
      stale: v.stale,
    };
  };

  app.get('/flags', (c) =>
    c.json({ flags: controller.listFlags().map((f) => ({ ...flagView(f), verdict: verdictOf(f) })) }),
  );

  app.get('/flags/:name', (c) => {
    const flag = controller.requireFlag(c.req.param('name'));
    const events = controller.events.list({ flag: flag.plan.name, limit: 20 }).map(eventView);
    return c.json({ flag: flagView(flag), verdict: verdictOf(flag), plan: flag.plan, events });
  });

  for (const action of ['enable', 'disable'] as const) {
    app.post(`/flags/:name/${action}`, async (c) => {
      const { reason } = await jsonBody(c, reasonBody);
      const { flag, eventId } = controller.setEnabled(
        c.req.param('name'),
        action === 'enable',
        c.var.principal.name,
        reason,
      );
      return c.json({ flag: flagView(flag), changed: eventId !== null, eventId });
    });
  }

  app.get('/events', (c) => {
    const q = query(c, eventsQuery);
    const events = controller.events.list(q).map(eventView);
    const last = events.at(-1);
    return c.json({ events, next: events.length === q.limit && last ? last.id : null });
  });

  app.post('/plans/reload', (c) => {
    const result = controller.reload(deps.flagsDir, c.var.principal.name);
    if (!result.ok)
      throw new AppError('UNPROCESSABLE', 'plans rejected; the last good plans stay in force', {
        problems: result.problems,
      });
    return c.json(result);
  });

  return app;
}
