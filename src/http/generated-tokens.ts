// Tokens for kinds the operator did not configure: generated once, kept owner-only in the data directory.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type Token, type TokenKind, tokenKinds } from '../config.ts';

const fileSchema = z.partialRecord(z.enum(tokenKinds), z.string().min(16));

export const generatedTokensFile = (dataDir: string) => path.join(dataDir, 'tokens.json');

/**
 * Returns one generated token for each kind that has none configured, reusing earlier ones so restarts
 * keep working credentials. Never open by default: every endpoint group always has a token.
 */
export function ensureTokens(
  dataDir: string,
  configured: Token[],
): { tokens: Token[]; file: string; created: TokenKind[] } {
  const file = generatedTokensFile(dataDir);
  const missing = tokenKinds.filter((k) => !configured.some((t) => t.kind === k));
  let stored: Partial<Record<TokenKind, string>> = {};
  if (fs.existsSync(file)) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      json = undefined;
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success)
      throw new Error(`${file} is not a valid token file; delete it to generate new tokens`);
    stored = parsed.data;
  }
  const created = missing.filter((k) => !stored[k]);
  for (const kind of created) stored[kind] = `${kind}.${randomBytes(24).toString('base64url')}`;
  if (created.length) {
    fs.mkdirSync(dataDir, { recursive: true });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  if (missing.length) fs.chmodSync(file, 0o600);
  const tokens = missing.map((kind) => ({ kind, name: `generated-${kind}`, secret: stored[kind] as string }));
  return { tokens, file, created };
}
