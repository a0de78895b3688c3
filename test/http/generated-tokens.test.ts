import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ensureTokens } from '../../src/http/generated-tokens.ts';
import { tempDir } from '../helpers/rollgate.ts';

describe('generated tokens', () => {
  it('generates a token for each unconfigured kind, owner-only, and reuses it on the next start', () => {
    const dir = tempDir();
    const first = ensureTokens(dir, [{ kind: 'client', name: 'svc', secret: 'x'.repeat(20) }]);
    expect(first.created).toEqual(['admin', 'frontend', 'alert', 'ingest']);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(fs.readFileSync(first.file, 'utf8'));
    expect(stored.client).toBeUndefined();
    expect(stored.admin).toMatch(/^admin\.[A-Za-z0-9_-]{32}$/);
    const second = ensureTokens(dir, [{ kind: 'client', name: 'svc', secret: 'x'.repeat(20) }]);
    expect(second.created).toEqual([]);
    expect(second.tokens.find((t) => t.kind === 'admin')?.secret).toBe(stored.admin);
  });

  it('generates nothing when every kind is configured', () => {
    const kinds = ['admin', 'client', 'frontend', 'alert', 'ingest'] as const;
    const r = ensureTokens(
      tempDir(),
      kinds.map((kind) => ({ kind, name: kind, secret: 'y'.repeat(20) })),
    );
    expect(r.tokens).toEqual([]);
    expect(fs.existsSync(r.file)).toBe(false);
  });
});
