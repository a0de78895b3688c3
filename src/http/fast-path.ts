// The SDK poll answered straight from node:http (GET/HEAD /api/client/features); every other request goes to Hono.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { getQueryParam } from 'hono/utils/url';
import type { ServedFeatures } from '../rollout/served.ts';
import { type Authenticator, tokenFrom } from './auth.ts';
import { createFeatureDocuments } from './client-routes.ts';
import { etagMatches } from './etag.ts';

const route = '/api/client/features';

/**
 * Characters the WHATWG URL parser would percent-encode in a query (controls, space, non-ASCII, `"#<>'`), and
 * the backslash the node adapter rejects: with any of them Hono would read a different query than the raw
 * one, so the request goes to Hono.
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

/**
 * Wraps Hono's request listener. The fast path answers only what it can answer exactly as the Hono route
 * would (same status, headers and bytes, same constant-time token check); anything else — another route or
 * method, a body, an odd URL or Host, a missing, invalid or wrong-kind token — falls through to Hono, which
 * gives the same 401, 403, 404, 400 or 413 as always. Hono costs about three quarters of a poll's CPU time
 * here (a WHATWG Request and Response per call, middleware dispatch), and polls are most of the traffic.
 */
export function createFastPath(deps: {
  served: ServedFeatures;
  auth: Authenticator;
  fallback: RequestListener;
}): RequestListener {
  const { auth, fallback } = deps;
  const documentFor = createFeatureDocuments(deps.served);

  const answer = (req: IncomingMessage, res: ServerResponse): boolean => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '';
    if (!url.startsWith(route)) return false;
    const hasQuery = url.length > route.length;
    if (hasQuery && (url.charCodeAt(route.length) !== 63 /* ? */ || rewrittenByUrlParser.test(url)))
      return false;
    const headers = req.headers;
    // bodyLimit and the adapter's body handling stay Hono's: a GET with a body is not a poll.
    if (headers['transfer-encoding'] !== undefined) return false;
    if (headers['content-length'] !== undefined && headers['content-length'] !== '0') return false;
    const host = headers.host;
    if (!host || !plainHost.test(host)) return false;

    const secret = tokenFrom(soleAuthorization(req));
    if (!secret) return false;
    const principal = auth.identify(secret);
    if (principal?.kind !== 'client') return false;

    // The same parser Hono's c.req.query uses, on a URL of the same shape (it skips the first 8 characters).
    const namePrefix = hasQuery
      ? (getQueryParam(`http://h${url}`, 'namePrefix') as string | undefined)
      : undefined;
    const doc = documentFor(namePrefix);
    // Hono's 304 carries a text/plain content type; kept, so SDKs and caches see exactly what they saw before.
    if (etagMatches(headers['if-none-match'], doc.etag)) {
      res.writeHead(304, { etag: doc.etag, 'content-type': 'text/plain; charset=UTF-8' });
      res.end();
    } else if (method === 'HEAD') {
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

  return (req, res) => {
    if (!answer(req, res)) fallback(req, res);
  };
}
