// Unleash delta polling (`GET /api/client/delta`): a hydration first, then only what changed since the SDK's revision.
import { Hono } from 'hono';
import type { UnleashFeature } from '../evaluation/types.ts';
import type { ServedDelta, ServedFeatures } from '../rollout/served.ts';
import type { SdkRegistry } from '../sdk/instances.ts';
import type { AuthEnv } from './auth.ts';

/** The event shapes unleash-client applies in `applyFeatureResponse` (and Unleash's delta API sends). */
export type DeltaEvent =
  | { type: 'hydration'; eventId: number; features: readonly UnleashFeature[]; segments: [] }
  | { type: 'feature-updated'; eventId: number; feature: UnleashFeature }
  | { type: 'feature-removed'; eventId: number; featureName: string; project: string };

/**
 * The SDK echoes our `ETag: "<revision>"` in If-None-Match. Like Unleash, anything that is not a plain
 * revision number (absent, a features-endpoint hash, garbage) means "I know nothing": hydrate.
 */
export function revisionFrom(ifNoneMatch: string | undefined): number | undefined {
  if (!ifNoneMatch) return undefined;
  const first = ifNoneMatch.split(',')[0]?.trim() ?? '';
  const bare = first.replace(/^W\//, '').replace(/^"|"$/g, '');
  return /^\d{1,15}$/.test(bare) ? Number(bare) : undefined;
}

export function changeEvents(revision: number, delta: ServedDelta, keep: (name: string) => boolean) {
  const events: DeltaEvent[] = [];
  for (const feature of delta.updated) {
    if (keep(feature.name)) events.push({ type: 'feature-updated', eventId: revision, feature });
  }
  for (const featureName of delta.removed) {
    if (keep(featureName))
      events.push({ type: 'feature-removed', eventId: revision, featureName, project: 'default' });
  }
  return events;
}

export function createDeltaRoutes(deps: { served: ServedFeatures; sdks?: SdkRegistry | undefined }) {
  const { served, sdks } = deps;
  const app = new Hono<AuthEnv>();
  // Every new SDK (and every restart of one) hydrates: serialize that body once per revision, not per request.
  let hydrated = { revision: -1, body: '' };

  const hydrationBody = (revision: number, features: readonly UnleashFeature[]) => {
    const events: DeltaEvent[] = [{ type: 'hydration', eventId: revision, features, segments: [] }];
    return JSON.stringify({ events });
  };

  // project and tag filters are accepted and ignored, as on /features: every flag is in the default project.
  app.get('/delta', (c) => {
    const doc = served.current();
    const etag = `"${doc.revision}"`;
    const known = revisionFrom(c.req.header('if-none-match'));
    const prefix = c.req.query('namePrefix') || undefined;
    // Every answer below (304, delta or hydration) leaves the SDK holding this revision.
    sdks?.fetched(c.req.raw.headers, doc.revision, etag, 'poll', prefix);
    if (known === doc.revision) return c.body(null, 304, { ETag: etag });
    const keep = (name: string) => !prefix || name.startsWith(prefix);
    const headers = { 'Content-Type': 'application/json; charset=utf-8', ETag: etag };

    const delta = known === undefined ? undefined : served.deltaSince(known);
    if (delta) {
      // Empty when nothing under this SDK's prefix changed: still a 200, so the new ETag moves it forward.
      return c.body(JSON.stringify({ events: changeEvents(doc.revision, delta, keep) }), 200, headers);
    }
    if (prefix) {
      const features = doc.features.filter((f) => keep(f.name));
      return c.body(hydrationBody(doc.revision, features), 200, headers);
    }
    if (hydrated.revision !== doc.revision) {
      hydrated = { revision: doc.revision, body: hydrationBody(doc.revision, doc.features) };
    }
    return c.body(hydrated.body, 200, headers);
  });

  return app;
}
