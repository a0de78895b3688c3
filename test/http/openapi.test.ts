import fs from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/http/openapi.ts';
import { buildRollgate, bundledFlagsDir, makeFlagsDir } from '../helpers/rollgate.ts';
import { sdkPlanFiles } from '../helpers/sdk-server.ts';

const open: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const rg of open.splice(0)) await rg.stop();
});

function served() {
  const t = buildRollgate({ flagsDir: makeFlagsDir(sdkPlanFiles) });
  open.push(t.rg);
  return t;
}

describe('GET /openapi.json', () => {
  it('serves an OpenAPI 3.1 document that the OpenAPI schema validator accepts', async () => {
    const { rg } = served();
    const res = await rg.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    // The validator does reject a broken document: the check can fail.
    const broken = { ...doc, paths: { '/x': { get: { responses: { 200: {} } } } } };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('describes every route the app serves (but the guarded service and the dashboard), and nothing it does not', () => {
    const { rg } = served();
    // The dashboard's pages are for people (HTML, session cookies), not part of the HTTP API.
    const routes = new Set(
      rg.app.routes
        .filter(
          (r) =>
            r.method !== 'ALL' &&
            !r.path.startsWith('/service') &&
            !r.path.startsWith('/ui') &&
            r.path !== '/',
        )
        .map((r) => `${r.method} ${r.path.replace(/\/$/, '').replace(/:(\w+)/g, '{$1}') || '/'}`),
    );
    const documented = new Set(
      Object.entries(openApiDocument('test').paths).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
      ),
    );
    expect([...routes].sort()).toEqual([...documented].sort());
  });

  it('takes request schemas from the zod schemas the routes parse with', () => {
    const doc = openApiDocument('test');
    const signals = doc.paths['/api/signals']?.post as {
      requestBody: { content: Record<string, { schema: unknown }> };
    };
    const schema = JSON.stringify(signals.requestBody.content['application/json']?.schema);
    expect(schema).toContain('latencyMs');
    expect(schema).toContain('revenueSquares');
    const events = doc.paths['/api/admin/events']?.get as { parameters: Array<{ name: string }> };
    expect(events.parameters.map((p) => p.name)).toEqual(['flag', 'type', 'limit', 'before']);
  });

  it('is checked in as flags/openapi.json, current (run `npm run schema` after changing routes)', async () => {
    const { rg } = served();
    const res = await rg.app.request('/openapi.json');
    expect(fs.readFileSync(path.join(bundledFlagsDir, 'openapi.json'), 'utf8')).toBe(await res.text());
  });
});
