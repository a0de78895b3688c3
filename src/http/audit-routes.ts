// Admin API for audits: a run now (GET, what `rollgate audit` calls), the latest stored run, a stored run now, the ledger.
import { Hono } from 'hono';
import { z } from 'zod';
import type { Auditor } from '../audit/audit.ts';
import type { AuditStore } from '../audit/audit-store.ts';
import type { AuditSchedule } from '../audit/schedule.ts';
import { trafficSchema } from '../audit/traffic.ts';
import type { Clock } from '../clock.ts';
import { jsonBody, query } from '../edge.ts';
import type { AuthEnv } from './auth.ts';

export const auditQuery = z.strictObject({
  traffic: trafficSchema
    .optional()
    .describe('Requests per minute assumed for plans with no stored traffic (plans not running yet).'),
});

/** POST /audit/runs takes no options: a stored run is what the schedule would run. */
export const auditRunBody = z.strictObject({});

export interface AuditDeps {
  auditor: Auditor;
  store: AuditStore;
  schedule: AuditSchedule;
}

export function createAuditRoutes(deps: { audits: AuditDeps; clock: Clock }) {
  const { auditor, store, schedule } = deps.audits;
  const app = new Hono<AuthEnv>();

  app.get('/audit', async (c) => {
    const q = query(c, auditQuery);
    return c.json(await auditor.run(deps.clock(), { traffic: q.traffic }));
  });

  app.get('/audit/latest', (c) => c.json({ run: store.latest() }));

  app.post('/audit/runs', async (c) => {
    await jsonBody(c, auditRunBody);
    const { run, newlyFailing, eventId } = await schedule.runNow('request');
    return c.json({ run, newlyFailing, eventId });
  });

  app.get('/audit/ledger', (c) => c.json(auditor.ledger()));

  return app;
}
