// Request parsing at the edge: zod schemas for bodies and queries, with errors that name the field and the reason.
import type { Context } from 'hono';
import type { z } from 'zod';
import { AppError } from '../errors.ts';
import { formatPath } from '../plans/load.ts';

export function zodDetails(error: z.ZodError) {
  return { issues: error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
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

/** Reads a JSON body; an empty body counts as `{}` so optional-only bodies may be omitted. */
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

export function query<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseWith(schema, c.req.query(), 'query');
}
