// SDK polls answered straight from node:http (GET/HEAD /api/client/features, /api/frontend); the rest goes to Hono.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getQueryParam } from 'hono/utils/url';
import type { TokenKind } from '../config.ts';
import type { ServedFeatures } from '../rollout/served.ts';
import type { SdkRegistry } from '../sdk/instances.ts';
import { type Authenticator, tokenFrom } from './auth.ts';
import { createFeatureDocuments } from './client-routes.ts';
import { etagMatches } from './etag.ts';
import type { FrontendAnswers } from './frontend-cache.ts';
import { toUnleashContext } from './served-evaluator.ts';

/**
 * Characters the WHATWG URL parser would percent-encode in a query (controls, space, non-ASCII, `"#<>'`), and
 * the backslash, which the adapter checks for itself: with any of them Hono might read a different query than
 * the raw one, so the request goes to Hono.
 */
const rewrittenByUrlParser = /[^\x21-\x7e]|["#<>'\\]/;
/** A Host the adapter turns into the same URL host without complaint; anything else is Hono's to refuse. */
const plainHost = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The one Authorization header, or undefined when there is none or several (Hono would see them joined). */
function soleAuthorization(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (value !== undefined) return undefined;
      value = raw[i + 1];
    }
  }
  return value;
}

type Handler = (req: IncomingMessage, res: ServerResponse, kind: TokenKind, url: string) => boolean;

/** What c.req.query() gives: every parameter, the first value of each. */
const queryOf = (url: string) =>
  url.includes('?') ? (getQueryParam(`http://h${url}`) as Record<string, string>) : {};

/**
 * Wraps Hono's request listener. The fast path answers only what it can answer exactly as the Hono routes
 * would (same status, headers and bytes, same constant-time token check); anything else — another route or
 * method, a body, an odd URL or Host, a missing, invalid or wrong-kind token — falls through to Hono, which
 * gives the same 401, 403, 404, 400 or 413 as always. Hono costs about three quarters of a poll's CPU time
 * here (a WHATWG Request and Response per call, middleware dispatch), and polls are most of the traffic.
 */
export function createFastPath(deps: {
  served: ServedFeatures;
  frontend: FrontendAnswers;
  auth: Authenticator;
  fallback: RequestListener;
  /** Every answered poll is recorded against the SDK instance that sent it (an in-memory map update). */
  sdks?: SdkRegistry | undefined;
}): RequestListener {
  const { auth, fallback, frontend, sdks } = deps;
  const documentFor = createFeatureDocuments(deps.served);

  const features: Handler = (req, res, kind, url) => {
    if (kind !== 'client') return false;
    // Exactly the call behind c.req.query('namePrefix'), on a URL of the same shape (it skips 8 characters).
    const namePrefix = url.includes('?')
      ? (getQueryParam(`http://h${url}`, 'namePrefix') as string | undefined)
      : undefined;
    const doc = documentFor(namePrefix);
    sdks?.fetched(req.headers, doc.revision, doc.etag, 'poll', namePrefix);
    // Hono's 304 carries a text/plain content type; kept, so SDKs and caches see exactly what they saw before.
    if (etagMatches(req.headers['if-none-match'], doc.etag)) {
      res.writeHead(304, { etag: doc.etag, 'content-type': 'text/plain; charset=UTF-8' });
      res.end();
    } else if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', etag: doc.etag });
      res.end();
    } else {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        etag: doc.etag,
        'content-length': doc.bytes.length,
      });
      res.end(doc.bytes);
    }
    return true;
  };

  // As frontendCors and frontend-routes answer a GET: CORS headers for any origin, the toggles for the context.
  const toggles: Handler = (req, res, kind, url) => {
    if (kind !== 'frontend') return false;
    const context = toUnleashContext(queryOf(url));
    const address = req.socket.remoteAddress;
    const { body, etag } = frontend.answer(
      context.remoteAddress || !address ? context : { ...context, remoteAddress: address },
    );
    const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'ETag' };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, { ...cors, etag, 'content-type': 'text/plain; charset=UTF-8' });
      res.end();
    } else if (req.method === 'HEAD') {
      res.writeHead(200, { ...cors, 'content-type': 'application/json; charset=utf-8', etag });
      res.end();
    } else {
      const length = Buffer.byteLength(body);
      res.writeHead(200, {
        ...cors,
        'content-type': 'application/json; charset=utf-8',
        etag,
        'content-length': length,
      });
      res.end(body);
    }
    return true;
  };

  const routes = new Map<string, Handler>([
    ['/api/client/features', features],
    ['/api/frontend', toggles],
  ]);

  const answer = (req: IncomingMessage, res: ServerResponse): boolean => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '';
    const queryAt = url.indexOf('?');
    const handler = routes.get(queryAt === -1 ? url : url.slice(0, queryAt));
    if (!handler || (queryAt !== -1 && rewrittenByUrlParser.test(url))) return false;
    const headers = req.headers;
    // bodyLimit and the adapter's body handling stay Hono's: a GET with a body is not a poll.
    if (headers['transfer-encoding'] !== undefined) return false;
    if (headers['content-length'] !== undefined && headers['content-length'] !== '0') return false;
    const host = headers.host;
    if (!host || !plainHost.test(host)) return false;
    const secret = tokenFrom(soleAuthorization(req));
    if (!secret) return false;
    const principal = auth.identify(secret);
    return principal !== undefined && handler(req, res, principal.kind, url);
  };

  return (req, res) => {
    if (!answer(req, res)) fallback(req, res);
  };
}
