// `rollgate status`: a one-screen table of flags from a running server's admin API.
import { readFileSync } from 'node:fs';
import { generatedTokensFile } from '../http/generated-tokens.ts';

interface FlagRow {
  name: string;
  enabled: boolean;
  phase: string;
  percent: number;
  stage: { index: number; of: number } | null;
  phaseReason: string | null;
}

export async function statusCommand(url: string, token: string | undefined): Promise<number> {
  const secret = token ?? readGeneratedAdminToken();
  if (!secret) {
    process.stderr.write(
      'rollgate: no token: pass --token, set ROLLGATE_TOKEN, or run from the directory with data/tokens.json\n',
    );
    return 2;
  }
  const res = await fetch(new URL('/api/admin/flags', url), {
    headers: { authorization: `Bearer ${secret}` },
  });
  if (!res.ok) {
    process.stderr.write(`rollgate: ${res.status} ${await res.text()}\n`);
    return 1;
  }
  const { flags } = (await res.json()) as { flags: FlagRow[] };
  const rows = flags.map((f) => [
    f.name,
    f.enabled ? 'on' : 'KILLED',
    f.phase,
    `${f.percent}%`,
    f.stage ? `${f.stage.index + 1}/${f.stage.of}` : '-',
    f.phaseReason ?? '',
  ]);
  const header = ['FLAG', 'SWITCH', 'PHASE', 'PERCENT', 'STAGE', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [header, ...rows])
    process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`);
  return 0;
}

function readGeneratedAdminToken(): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(generatedTokensFile(process.env.ROLLGATE_DATA_DIR || './data'), 'utf8')) as {
        admin?: string;
      }
    ).admin;
  } catch {
    return undefined;
  }
}
