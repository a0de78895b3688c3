// GET /api/admin/flags/:name/health: the flag's signal series per interval and arm, and the verdicts assess gives now.
import { Hono } from 'hono';
import { z } from 'zod';
import { isoOrNull } from '../clock.ts';
import { query } from '../edge.ts';
import type { FlagHealth } from '../health/flag-health.ts';
import type { FlagSeries, SignalPoint } from '../health/series.ts';
import type { SignalStore } from '../health/signal-store.ts';
import type { Verdict } from '../health/verdict.ts';
import type { Controller } from '../rollout/controller.ts';
import type { AuthEnv } from './auth.ts';

export const healthQuery = z.strictObject({
  since: z
    .union([z.iso.datetime({ offset: true }), z.coerce.number().int().min(0)])
    .optional()
    .describe('Series start (ISO time or epoch ms); default one hour ago.'),
});

type ArmView = Record<string, number | null>;

/** Per interval and arm, the numbers a person reads: requests and errors, mean latency, conversions per unit. */
function seriesView(points: readonly SignalPoint[]) {
  const intervals = new Map<string, { start: string; widthMs: number; arms: Record<string, ArmView> }>();
  for (const p of points) {
    const key = `${p.start}/${p.width}`;
    let interval = intervals.get(key);
    if (!interval) {
      interval = { start: new Date(p.start).toISOString(), widthMs: p.width, arms: {} };
      intervals.set(key, interval);
    }
    const arm = interval.arms[p.arm] ?? {};
    interval.arms[p.arm] = arm;
    switch (p.metric) {
      case 'errors':
        arm.requests = p.count;
        arm.errors = p.sum;
        break;
      case 'latency':
        arm.latencyCount = p.count;
        arm.latencyMeanMs = p.count > 0 ? p.sum / p.count : null;
        break;
      case 'conversions':
        arm.units = p.count;
        arm.conversions = p.sum;
        break;
      case 'revenue':
        arm.revenueUnits = p.count;
        arm.revenue = p.sum;
        break;
      case 'exposures':
        arm.exposures = p.count;
        break;
    }
  }
  return [...intervals.values()];
}

export function verdictView(v: Verdict) {
  return { ...v, at: isoOrNull(v.at), exposure: { ...v.exposure, since: isoOrNull(v.exposure.since) } };
}

export function createHealthRoutes(deps: {
  controller: Controller;
  flagHealth: FlagHealth;
  signalStore: SignalStore;
}) {
  const { controller, flagHealth, signalStore } = deps;
  const app = new Hono<AuthEnv>();
  app.get('/flags/:name/health', (c) => {
    const q = query(c, healthQuery);
    const flag = controller.requireFlag(c.req.param('name'));
    const now = controller.clock();
    // The verdict the last tick produced (never a fold on this thread for a ticked flag); the series is for show.
    const verdict = flagHealth.assess(flag, now);
    const since =
      q.since === undefined ? now - 3_600_000 : typeof q.since === 'number' ? q.since : Date.parse(q.since);
    const shown: FlagSeries = signalStore.series(flag.plan.name, since);
    return c.json({
      flag: flag.plan.name,
      phase: flag.state.phase,
      percent: flag.percent,
      verdict: verdictView(verdict),
      series: {
        since: isoOrNull(since),
        intervals: seriesView(shown.points.filter((p) => p.start >= since)),
      },
    });
  });
  return app;
}
