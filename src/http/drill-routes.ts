// Admin API for SDK reach: the SDK instances seen, and rollback drills (start one, read the running or last one).
import { Hono } from 'hono';
import { z } from 'zod';
import { isoOrNull } from '../clock.ts';
import { jsonBody } from '../edge.ts';
import { parseDuration } from '../plans/duration.ts';
import { type Drills, drillDefaults } from '../sdk/drill.ts';
import type { SdkInstance, SdkRegistry } from '../sdk/instances.ts';
import type { AuthEnv } from './auth.ts';

export const drillBody = z.strictObject({
  reason: z.string().trim().min(1).max(1000).optional(),
  timeout: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return undefined;
      const ms = parseDuration(raw);
      if (ms === undefined || ms < 1000 || ms > drillDefaults.maxTimeoutMs) {
        ctx.addIssue({
          code: 'custom',
          message: `"${raw}" is not a duration from 1s to ${drillDefaults.maxTimeoutMs / 60_000}m`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .describe('How long to wait for SDKs (default: a bit more than the longest refresh interval seen)'),
});

export const sdkInstanceView = (i: SdkInstance) => ({
  ...i,
  firstSeen: isoOrNull(i.firstSeen),
  lastSeen: isoOrNull(i.lastSeen),
  lastFetchAt: isoOrNull(i.lastFetchAt),
  heldSince: isoOrNull(i.heldSince),
  startedAt: isoOrNull(i.startedAt),
});

export function createDrillRoutes(deps: { sdks: SdkRegistry; drills: Drills }) {
  const { sdks, drills } = deps;
  const app = new Hono<AuthEnv>();

  app.get('/sdk-instances', (c) =>
    c.json({
      instances: sdks.list().map(sdkInstanceView),
      count: sdks.size(),
      limit: sdks.limits.maxInstances,
      limitPerApp: sdks.limits.maxInstancesPerApp,
      /** How many are unproven (one request), and what was refused or dropped since start. */
      stats: sdks.stats(),
    }),
  );

  // Answers at once (202) with the running drill; GET /drill reads it until its status is no longer "running".
  app.post('/drill', async (c) => {
    const body = await jsonBody(c, drillBody);
    const { run, done } = drills.start(c.var.principal.name, {
      reason: body.reason,
      timeoutMs: body.timeout,
    });
    done.catch(() => undefined);
    return c.json({ drill: run }, 202);
  });

  app.get('/drill', (c) => c.json({ drill: drills.current() ?? null }));

  return app;
}
