// Validation and error responses at the HTTP edge, shared by Rollgate's routes and the guarded service.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { describeStorageFault, storageFaultCode } from './db/storage-health.ts';
import { AppError, httpStatusOf } from './errors.ts';
import type { Logger } from './log.ts';

/** `stages[0].percent`: how plan-file problems and request errors name a field. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((out, seg) => {
    if (typeof seg === 'number') return `${out}[${seg}]`;
    return out ? `${out}.${String(seg)}` : String(seg);
  }, '');
}

/** The first issues, each bounded: a megabyte body with a million bad fields answers a small error. */
export function zodDetails(error: z.ZodError) {
  return {
    issues: error.issues
      .slice(0, 20)
      .map((i) => ({ path: formatPath(i.path).slice(0, 200), message: i.message.slice(0, 300) })),
    ...(error.issues.length > 20 ? { more: error.issues.length - 20 } : {}),
  };
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? ` at ${formatPath(first.path)}` : '';
    throw new AppError(
      'BAD_REQUEST',
      `invalid ${what}${where}: ${first?.message ?? 'rejected'}`,
      zodDetails(parsed.error),
    );
  }
  return parsed.data;
}

/**
 * The parsed JSON body, or a 400 naming the parse error. `ifEmpty` is what an empty body reads as where a
 * route lets it be omitted; without it an empty body is not JSON.
 */
export async function readJson(c: Context, ifEmpty?: object): Promise<unknown> {
  const text = await c.req.text();
  if (ifEmpty !== undefined && text.trim() === '') return ifEmpty;
  return parseJsonText(text);
}

/** How deep a JSON body may nest: deeper bodies are refused before any recursive code walks them. */
export const maxJsonDepth = 64;

/** JSON.parse with a 400 naming the problem (never echoing the body) and a nesting limit. */
export function parseJsonText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes the input in its message; keep only the part that says where.
    const message = (err as Error).message.replace(/, "[\s\S]*" is not valid JSON$/, '').slice(0, 200);
    throw new AppError('BAD_REQUEST', `body is not valid JSON: ${message}`);
  }
  if (depthOf(value) > maxJsonDepth)
    throw new AppError('BAD_REQUEST', `body nests deeper than ${maxJsonDepth} levels`);
  return value;
}

/** Nesting depth of a parsed JSON value, iteratively, so a hostile body cannot overflow the stack. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > maxJsonDepth) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** Reads a JSON body; an empty body counts as `{}` so optional-only bodies may be omitted. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return parseWith(schema, await readJson(c, {}), 'body');
}

export function query<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.query(), 'query');
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Error messages are for people: long ones (echoing input) are cut. */
const maxMessage = 500;

/**
 * One mapping for every app, so the service answers the same whether mounted in Rollgate or run alone. A
 * storage fault (disk full, I/O error) is a 503 that says so, and is reported to `onStorageFault`.
 */
export function onError(log: Logger, onStorageFault?: (err: unknown) => void): ErrorHandler {
  return (err, c) => {
    if (err instanceof AppError) {
      return c.json(
        errorBody(err.code, err.message.slice(0, maxMessage), err.details),
        httpStatusOf[err.code],
      );
    }
    const fault = storageFaultCode(err);
    if (fault) {
      onStorageFault?.(err);
      log.error('storage fault', { code: fault, method: c.req.method, path: c.req.path });
      return c.json(
        errorBody(
          'UNAVAILABLE',
          `storage unavailable: ${describeStorageFault(fault)}; nothing was stored, retry later`,
        ),
        503,
      );
    }
    if (err instanceof HTTPException) {
      return c.json(
        errorBody(err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', err.message.slice(0, maxMessage)),
        err.status,
      );
    }
    log.error('unhandled error', { err, method: c.req.method, path: c.req.path });
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  };
}

export const notFound: NotFoundHandler = (c) =>
  c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404);
