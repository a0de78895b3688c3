// The fast path against Hono alone and against Rollgate as served, byte for byte over real ports, case by case.
import http from 'node:http';
import net from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/http/auth.ts';
import { createFastPath } from '../../src/http/fast-path.ts';
import { createFrontendAnswers } from '../../src/http/frontend-cache.ts';
import { buildRollgate, makeFlagsDir, testTokens } from '../helpers/rollgate.ts';
import { sdkPlanFiles } from '../helpers/sdk-server.ts';

/** What the fast path's fallback answers in the fast-only server: the request was not taken by the fast path. */
const FELL_THROUGH = 599;

interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

/** One request written byte for byte (duplicate headers, odd targets, HTTP/1.0), on its own connection. */
function raw(port: number, head: string, body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const headers = lines
        .map(
          (l) =>
            [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [
              string,
              string,
            ],
        )
        // Per-response or per-connection: the date, and how this one connection ends.
        .filter(([name]) => !['date', 'connection', 'keep-alive'].includes(name))
        .sort(([a], [b]) => a.localeCompare(b));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(split + 4) });
    });
    socket.end(`${head.replaceAll('\n', '\r\n')}\r\n\r\n${body}`);
  });
}

function listen(listener: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve) => {
    const server = http.createServer(listener).listen(0, '127.0.0.1', () => resolve(server));
  });
}
const portOf = (s: http.Server) => (s.address() as { port: number }).port;

/** On only from loopback: the caller's socket address must stand in for a context without remoteAddress. */
const office = [
  'name: web.office',
  'description: on for the office network',
  'owner: tests',
  'type: release',
  'enabled: true',
  'constraints:',
  '  - { contextName: remoteAddress, operator: IN_CIDR, values: [127.0.0.0/8] }',
].join('\n');
const t = buildRollgate({ flagsDir: makeFlagsDir(sdkPlanFiles, { 'web.office.yaml': office }) });
const fallback = getRequestListener(t.rg.app.fetch, { hostname: t.config.host });
const fastOnly = createFastPath({
  served: t.rg.served,
  frontend: createFrontendAnswers({ served: t.rg.served, random: Math.random, now: t.clock }),
  auth: createAuthenticator(t.config.tokens),
  fallback: (_req, res) => {
    res.writeHead(FELL_THROUGH);
    res.end();
  },
});
let servers: { hono: http.Server; fast: http.Server };
let rollgatePort: number;

beforeAll(async () => {
  servers = { hono: await listen(fallback), fast: await listen(fastOnly) };
  rollgatePort = Number(new URL((await t.rg.start()).url).port);
});
afterAll(async () => {
  for (const s of Object.values(servers)) await new Promise((r) => s.close(r));
  await t.rg.stop();
});

/** The same request to Hono alone, to the fast path alone and to Rollgate as main.ts serves it. */
async function all(head: string, body = '') {
  const [hono, fast, served] = await Promise.all([
    raw(portOf(servers.hono), head, body),
    raw(portOf(servers.fast), head, body),
    raw(rollgatePort, head, body),
  ]);
  return { hono, fast, served };
}

const etag = () => t.rg.served.current().etag;
const get = (target: string, ...headers: string[]) =>
  [`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...headers].join('\n');
const client = `Authorization: ${testTokens.client}`;

describe('the fast path for GET /api/client/features', () => {
  const answered: Array<[string, () => string, number]> = [
    ['a raw client token', () => get('/api/client/features', client), 200],
    [
      'a Bearer client token',
      () => get('/api/client/features', `Authorization: Bearer ${testTokens.client}`),
      200,
    ],
    ['the current ETag', () => get('/api/client/features', client, `If-None-Match: ${etag()}`), 304],
    ['the ETag as a weak tag', () => get('/api/client/features', client, `If-None-Match: W/${etag()}`), 304],
    [
      'a list of tags',
      () => get('/api/client/features', client, `If-None-Match: "old", W/"x",${etag()}`),
      304,
    ],
    [
      'two If-None-Match headers',
      () => get('/api/client/features', client, 'If-None-Match: "a"', `If-None-Match: ${etag()}`),
      304,
    ],
    ['If-None-Match: *', () => get('/api/client/features', client, 'If-None-Match: *'), 304],
    ['a stale ETag', () => get('/api/client/features', client, 'If-None-Match: "stale"'), 200],
    ['HEAD', () => get('/api/client/features', client).replace('GET', 'HEAD'), 200],
    [
      'HEAD with the ETag',
      () => get('/api/client/features', client, `If-None-Match: ${etag()}`).replace('GET', 'HEAD'),
      304,
    ],
    ['namePrefix', () => get('/api/client/features?namePrefix=xcheck.p', client), 200],
    ['an encoded namePrefix', () => get('/api/client/features?namePrefix=demo%2Et', client), 200],
    ['a namePrefix with +', () => get('/api/client/features?namePrefix=demo+kill', client), 200],
    [
      'namePrefix after other parameters',
      () => get('/api/client/features?project=default&tag=a:b&namePrefix=demo.', client),
      200,
    ],
    ['an empty namePrefix', () => get('/api/client/features?namePrefix=', client), 200],
    ['namePrefix without a value', () => get('/api/client/features?namePrefix', client), 200],
    [
      'namePrefix twice (the first counts)',
      () => get('/api/client/features?namePrefix=demo.&namePrefix=xcheck', client),
      200,
    ],
    ['a bad percent escape', () => get('/api/client/features?namePrefix=%E0%A4%A', client), 200],
    ['only other parameters', () => get('/api/client/features?project=default', client), 200],
    ['an empty query', () => get('/api/client/features?', client), 200],
    [
      'a filtered ETag',
      () => get('/api/client/features?namePrefix=demo.', client, 'If-None-Match: "x"'),
      200,
    ],
    ['Content-Length: 0', () => get('/api/client/features', client, 'Content-Length: 0'), 200],
  ];
  it.each(answered)('answers itself, exactly as Hono does: %s', async (_label, head, status) => {
    const { hono, fast, served } = await all(head());
    expect(hono.status).toBe(status);
    expect(fast).toEqual(hono);
    expect(served).toEqual(hono);
  });

  const passed: Array<[string, () => string, string?]> = [
    ['no token', () => get('/api/client/features')],
    ['an invalid token', () => get('/api/client/features', 'Authorization: not-a-token-at-all')],
    ['an empty Bearer', () => get('/api/client/features', 'Authorization: Bearer ')],
    ['a frontend token', () => get('/api/client/features', `Authorization: ${testTokens.frontend}`)],
    ['an admin token', () => get('/api/client/features', `Authorization: Bearer ${testTokens.admin}`)],
    [
      'two Authorization headers',
      () => get('/api/client/features', client, `Authorization: ${testTokens.client}`),
    ],
    ['POST', () => get('/api/client/features', client).replace('GET', 'POST')],
    ['OPTIONS', () => get('/api/client/features', client).replace('GET', 'OPTIONS')],
    ['a trailing slash', () => get('/api/client/features/', client)],
    ['a longer path', () => get('/api/client/featuresx', client)],
    ['one feature by name', () => get('/api/client/features/demo.kill', client)],
    ['a dot segment', () => get('/api/client/./features', client)],
    ['an encoded path', () => get('/api/client/%66eatures', client)],
    ['a quote in the query', () => get("/api/client/features?namePrefix=demo'", client)],
    ['a double quote in the query', () => get('/api/client/features?namePrefix="demo', client)],
    ['angle brackets in the query', () => get('/api/client/features?namePrefix=<demo>', client)],
    ['a backslash in the query', () => get('/api/client/features?namePrefix=a\\b', client)],
    ['an absolute-form target', () => get('http://127.0.0.1/api/client/features', client)],
    ['a body', () => get('/api/client/features', client, 'Content-Length: 2'), '{}'],
    ['a chunked body', () => get('/api/client/features', client, 'Transfer-Encoding: chunked'), '0\r\n\r\n'],
    ['an odd Host', () => get('/api/client/features', client).replace('Host: 127.0.0.1', 'Host: a_b')],
    ['no Host (HTTP/1.0)', () => `GET /api/client/features HTTP/1.0\n${client}`],
  ];
  it.each(passed)('hands the request to Hono unchanged: %s', async (_label, head, body = '') => {
    const { hono, fast, served } = await all(head(), body);
    expect(fast.status).toBe(FELL_THROUGH);
    expect(served).toEqual(hono);
  });

  it('keeps the 401 and 403 bodies the SDKs read', async () => {
    const missing = await raw(rollgatePort, get('/api/client/features'));
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body).error.message).toMatch(/missing token/);
    const wrong = await raw(
      rollgatePort,
      get('/api/client/features', `Authorization: ${testTokens.frontend}`),
    );
    expect(wrong.status).toBe(403);
    expect(JSON.parse(wrong.body).error.code).toBe('FORBIDDEN');
  });

  it('serves the new document and ETag as soon as a flag changes', async () => {
    const before = etag();
    const old = await raw(
      portOf(servers.fast),
      get('/api/client/features', client, `If-None-Match: ${before}`),
    );
    expect(old.status).toBe(304);
    const res = await t.call('POST', '/api/admin/flags/demo.toggle/enable');
    expect(res.status).toBe(200);
    expect(etag()).not.toBe(before);
    const { hono, fast } = await all(get('/api/client/features', client, `If-None-Match: ${before}`));
    expect(fast.status).toBe(200);
    expect(fast).toEqual(hono);
    expect(fast.headers).toContainEqual(['etag', etag()]);
    expect(JSON.parse(fast.body).meta.revisionId).toBe(t.rg.served.current().revision);
  });

  it('answers many polls on one keep-alive connection, as SDKs and load balancers keep them', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get(
            `http://127.0.0.1:${rollgatePort}/api/client/features`,
            { agent, headers: { authorization: testTokens.client, 'if-none-match': i % 2 ? etag() : '"x"' } },
            (res) => {
              sockets.add(res.socket);
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          )
          .on('error', reject);
      });
      expect(status).toBe(i % 2 ? 304 : 200);
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
  });
});

describe('the fast path for GET /api/frontend', () => {
  const web = `Authorization: ${testTokens.frontend}`;
  /** The current ETag of the toggles for this query, as Hono computes it. */
  const etagFor = async (query: string) =>
    (await raw(portOf(servers.hono), get(`/api/frontend?${query}`, web))).headers.find(
      ([n]) => n === 'etag',
    )?.[1];

  const answered: Array<[string, () => Promise<string>, number]> = [
    ['a context in the query', async () => get('/api/frontend?userId=u1', web), 200],
    [
      'properties[x] and a custom field',
      async () => get('/api/frontend?userId=u1&properties[region]=eu&tier=gold', web),
      200,
    ],
    ['a region the targeting matches', async () => get('/api/frontend?userId=u2&region=EU', web), 200],
    ['its own remoteAddress', async () => get('/api/frontend?userId=u1&remoteAddress=10.1.2.3', web), 200],
    [
      'a Bearer token and an Origin',
      async () =>
        get(
          '/api/frontend?userId=u1',
          `Authorization: Bearer ${testTokens.frontend}`,
          'Origin: https://shop.example',
        ),
      200,
    ],
    [
      'the current ETag',
      async () => get('/api/frontend?userId=u3', web, `If-None-Match: ${await etagFor('userId=u3')}`),
      304,
    ],
    [
      'a weak tag in a list',
      async () => get('/api/frontend?userId=u3', web, `If-None-Match: "x", W/${await etagFor('userId=u3')}`),
      304,
    ],
    ['a stale ETag', async () => get('/api/frontend?userId=u3', web, 'If-None-Match: "stale"'), 200],
    ['HEAD', async () => get('/api/frontend?userId=u1', web).replace('GET', 'HEAD'), 200],
    ['encoded values', async () => get('/api/frontend?userId=a%20b+c&appName=shop', web), 200],
  ];
  it('fills remoteAddress from the socket when the context has none, as Hono does', async () => {
    const names = async (query: string) =>
      JSON.parse((await raw(portOf(servers.fast), get(`/api/frontend?${query}`, web))).body).toggles.map(
        (x: { name: string }) => x.name,
      );
    expect(await names('userId=u1')).toContain('web.office');
    expect(await names('userId=u1&remoteAddress=10.1.2.3')).not.toContain('web.office');
  });

  it.each(answered)('answers itself, exactly as Hono does: %s', async (_label, head, status) => {
    const { hono, fast, served } = await all(await head());
    expect(hono.status).toBe(status);
    expect(fast).toEqual(hono);
    expect(served).toEqual(hono);
  });

  const passed: Array<[string, () => string]> = [
    ['a client token', () => get('/api/frontend?userId=u1', client)],
    ['no token', () => get('/api/frontend?userId=u1')],
    [
      'a preflight',
      () =>
        get('/api/frontend', 'Origin: https://shop.example', 'Access-Control-Request-Method: GET').replace(
          'GET /',
          'OPTIONS /',
        ),
    ],
    ['a trailing slash', () => get('/api/frontend/?userId=u1', web)],
    ['POST', () => get('/api/frontend', web, 'Content-Length: 0').replace('GET', 'POST')],
  ];
  it.each(passed)('hands the request to Hono unchanged: %s', async (_label, head) => {
    const { hono, fast, served } = await all(head());
    expect(fast.status).toBe(FELL_THROUGH);
    expect(served).toEqual(hono);
  });
});
