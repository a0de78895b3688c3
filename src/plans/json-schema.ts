// Generates flags/schema.json from the zod plan schema, so editors validate plan files while typing.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { planSchema } from './schema.ts';

export function planJsonSchema(): string {
  const schema = z.toJSONSchema(planSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Rollgate plan' }, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const out = path.resolve(process.argv[2] ?? 'flags/schema.json');
  fs.writeFileSync(out, planJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
