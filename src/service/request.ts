// Request parsing and error responses for the service's routes: zod at the edge, one error body shape.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import { AppError, httpStatusOf } from '../errors.ts';
import type { Logger } from '../log.ts';

const pathOf = (path: PropertyKey[]) => path.map(String).join('.');

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message }));
  const first = issues[0];
  const where = first?.path ? ` at ${first.path}` : '';
  throw new AppError('BAD_REQUEST', `invalid ${what}${where}: ${first?.message ?? 'rejected'}`, { issues });
}

/** An empty body counts as `{}`, so bodies with only optional fields may be omitted. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new AppError('BAD_REQUEST', `body is not valid JSON: ${(err as Error).message}`);
    }
  }
  return parseWith(schema, value, 'body');
}

export const query = <S extends z.ZodType>(c: Context, schema: S): z.output<S> =>
  parseWith(schema, c.req.query(), 'query');

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** The service maps its own errors, so it answers the same whether mounted in Rollgate or run alone. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof AppError) {
      return c.json(errorBody(err.code, err.message, err.details), httpStatusOf[err.code]);
    }
    if (err instanceof HTTPException) return c.json(errorBody('BAD_REQUEST', err.message), err.status);
    log.error('unhandled error', { err, method: c.req.method, path: c.req.path });
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  };
}
