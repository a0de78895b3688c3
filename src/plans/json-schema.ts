// The plan JSON Schema, generated from the zod schema, so editors validate plan files while typing.
import { z } from 'zod';
import { planSchema } from './schema.ts';

export function planJsonSchema(): string {
  const schema = z.toJSONSchema(planSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Rollgate plan' }, null, 2)}\n`;
}
