// Alert intake over HTTP (Alertmanager, Grafana, generic) with the alert token, and the admin list of received alerts.
import { Hono } from 'hono';
import { z } from 'zod';
import { fromAlertmanager, fromGeneric, fromGrafana } from '../alerts/adapt.ts';
import type { AlertStore, StoredAlert } from '../alerts/alert-store.ts';
import { createAlertIntake, type IntakeResult, type RollBack, type RollBackLater } from '../alerts/intake.ts';
import { type Alert, alertmanagerPayload, genericPayload, grafanaPayload } from '../alerts/schema.ts';
import { isoOrNull } from '../clock.ts';
import { jsonBody, query } from '../edge.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { rollbackIfActive } from '../rollout/actions.ts';
import type { Controller } from '../rollout/controller.ts';
import { type AuthEnv, type Authenticator, requireToken } from './auth.ts';

/** An alert rolls back exactly as a regression does: one transition, one event, nothing when inactive. */
function rollBackWith(controller: Controller): RollBack {
  return (name, actor, reason, evidence) => {
    const { flag, eventId } = controller.transition(name, actor, (current) =>
      rollbackIfActive(current, controller.clock(), reason, evidence),
    );
    if (eventId !== null) return { outcome: 'rolled-back', eventId };
    return { outcome: flag.state.phase === 'rolled-back' ? 'already-rolled-back' : 'not-active', eventId };
  };
}

/**
 * The rollback a repeat of a still-firing episode makes: only on a rollout started after the episode was first
 * handled, and not one whose start was forced over this episode.
 */
function rollBackLaterWith(controller: Controller): RollBackLater {
  return (name, actor, reason, evidence, episode) => {
    const { flag, eventId } = controller.transition(name, actor, (current) => {
      if ((current.state.startedAt ?? 0) <= episode.firstReceivedAt) return null;
      const [start] = controller.events.list({ flag: name, type: 'rollout.started', limit: 1 });
      const forced = (start?.data.forcedOver as Array<{ episode: string }> | undefined) ?? [];
      if (forced.some((f) => f.episode === episode.key)) return null;
      return rollbackIfActive(current, controller.clock(), reason, evidence);
    });
    return {
      outcome:
        eventId !== null
          ? 'rolled-back'
          : flag.state.phase === 'rolled-back'
            ? 'already-rolled-back'
            : 'not-active',
      eventId,
    };
  };
}

export function createAlertRoutes(deps: {
  controller: Controller;
  alertStore: AlertStore;
  auth: Authenticator;
  log: Logger;
}) {
  const intake = createAlertIntake({
    store: deps.alertStore,
    plans: () => deps.controller.listFlags().map((f) => f.plan),
    rollBack: rollBackWith(deps.controller),
    rollBackLater: rollBackLaterWith(deps.controller),
    clock: deps.controller.clock,
    log: deps.log,
  });
  const app = new Hono<AuthEnv>();
  app.use('*', requireToken(deps.auth, ['alert']));

  const answer = (results: IntakeResult[]) => {
    const body = { received: results.length, alerts: results };
    // A 5xx makes Alertmanager and Grafana retry; the retry acts only where this attempt did not finish.
    if (results.some((r) => r.matched.some((m) => m.outcome === 'error')))
      throw new AppError('UNAVAILABLE', 'some matched flags could not be rolled back; retry', body);
    return body;
  };
  const intakeRoute = <S extends z.ZodType>(
    path: string,
    schema: S,
    adapt: (payload: z.output<S>) => Alert[],
  ) =>
    app.post(path, async (c) => {
      const payload = await jsonBody(c, schema);
      const body = answer(intake.receive(adapt(payload), c.var.principal.name));
      return c.json(body, body.alerts.some((a) => a.matched.length > 0) ? 200 : 202);
    });
  intakeRoute('/alertmanager', alertmanagerPayload, fromAlertmanager);
  intakeRoute('/grafana', grafanaPayload, fromGrafana);
  intakeRoute('/', genericPayload, fromGeneric);
  return app;
}

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
});

export function alertView(a: StoredAlert) {
  return {
    ...a,
    startsAt: isoOrNull(a.startsAt),
    receivedAt: isoOrNull(a.receivedAt),
    lastReceivedAt: isoOrNull(a.lastReceivedAt),
    outcome: a.outcome ?? 'unfinished',
  };
}

/** Mounted under /api/admin, behind the admin token. */
export function createAlertAdminRoutes(deps: { alertStore: AlertStore }) {
  const app = new Hono<AuthEnv>();
  app.get('/alerts', (c) => {
    const q = query(c, listQuery);
    const alerts = deps.alertStore.list(q).map(alertView);
    const last = alerts.at(-1);
    return c.json({ alerts, next: alerts.length === q.limit && last ? last.id : null });
  });
  return app;
}
