// `npm run schema`: writes the JSON Schemas generated from the zod schemas (plans, signal records) and the OpenAPI document into flags/.
import fs from 'node:fs';
import path from 'node:path';
import { signalRecordJsonSchema } from '../health/signal-schema.ts';
import { openApiJson } from '../http/openapi.ts';
import { planJsonSchema } from '../plans/json-schema.ts';

export const schemaFiles = {
  'schema.json': planJsonSchema,
  'signal-record.schema.json': () => `${JSON.stringify(signalRecordJsonSchema(), null, 2)}\n`,
  'openapi.json': openApiJson,
};

const dir = path.resolve(import.meta.dirname, '../../flags');
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const [file, generate] of Object.entries(schemaFiles)) {
    fs.writeFileSync(path.join(dir, file), generate());
    console.log(`wrote flags/${file}`);
  }
}
