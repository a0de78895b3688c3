import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

let server: SdkServer;
beforeAll(async () => {
  server = await startSdkServer();
});
afterAll(async () => {
  await server.stop();
});

type Kind = 'client' | 'frontend' | 'admin';
const routes: Array<{ method: string; path: string; body?: string; right: Kind[]; wrong: Kind; ok: number }> =
  [
    { method: 'GET', path: '/api/client/features', right: ['client'], wrong: 'frontend', ok: 200 },
    { method: 'GET', path: '/api/client/features/demo.kill', right: ['client'], wrong: 'admin', ok: 200 },
    {
      method: 'POST',
      path: '/api/client/register',
      body: '{"appName":"a"}',
      right: ['client'],
      wrong: 'frontend',
      ok: 202,
    },
    {
      method: 'POST',
      path: '/api/client/metrics',
      body: '{"appName":"a"}',
      right: ['client'],
      wrong: 'frontend',
      ok: 202,
    },
    { method: 'GET', path: '/api/client/streaming', right: ['client'], wrong: 'frontend', ok: 200 },
    { method: 'GET', path: '/api/frontend?userId=u', right: ['frontend'], wrong: 'client', ok: 200 },
    {
      method: 'POST',
      path: '/api/frontend',
      body: '{"context":{}}',
      right: ['frontend'],
      wrong: 'client',
      ok: 200,
    },
    {
      method: 'POST',
      path: '/api/frontend/client/metrics',
      body: '{}',
      right: ['frontend'],
      wrong: 'client',
      ok: 202,
    },
    {
      method: 'POST',
      path: '/api/frontend/client/register',
      body: '{}',
      right: ['frontend'],
      wrong: 'admin',
      ok: 202,
    },
    {
      method: 'POST',
      path: '/ofrep/v1/evaluate/flags/demo.kill',
      body: '{}',
      right: ['client', 'frontend'],
      wrong: 'admin',
      ok: 200,
    },
    {
      method: 'POST',
      path: '/ofrep/v1/evaluate/flags',
      body: '{}',
      right: ['client', 'frontend'],
      wrong: 'admin',
      ok: 200,
    },
  ];

async function request(route: (typeof routes)[number], authorization?: string) {
  const abort = new AbortController();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const res = await fetch(`${server.url}${route.path}`, {
    method: route.method,
    headers,
    body: route.body,
    signal: abort.signal,
  });
  const status = res.status;
  // The stream never ends by itself: read the status, then hang up.
  abort.abort();
  return status;
}

describe('tokens on the SDK-facing routes', () => {
  it.each(routes.map((r) => [`${r.method} ${r.path}`, r]))(
    '%s: none 401, unknown 401, wrong kind 403, right 2xx',
    async (_name, route) => {
      expect(await request(route)).toBe(401);
      expect(await request(route, 'not-a-known-token-000')).toBe(401);
      expect(await request(route, server.tokens[route.wrong])).toBe(403);
      for (const kind of route.right) {
        // SDKs send the token raw; OFREP providers and curl send it as a Bearer token. Both work.
        expect(await request(route, server.tokens[kind])).toBe(route.ok);
        expect(await request(route, `Bearer ${server.tokens[kind]}`)).toBe(route.ok);
      }
    },
  );
});
