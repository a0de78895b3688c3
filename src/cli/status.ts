// `rollgate status [--watch] [--json]`: a one-screen table of flags, phases, percents, verdicts and hold reasons.
import { percentOf } from '../rollout/explain.ts';
import { request, type Target } from './api-client.ts';
import type { FlagView } from './flag-actions.ts';

interface StatusRow extends FlagView {
  verdict: { status: string; stale: boolean } | null;
}

export async function statusTable(target: Target): Promise<{ rows: StatusRow[]; text: string }> {
  const { flags } = await request<{ flags: StatusRow[] }>(target, 'GET', 'api/admin/flags');
  const cells = flags.map((f) => [
    f.name,
    f.enabled ? 'on' : 'KILLED',
    f.phase,
    percentOf(f.percent),
    f.stage ? `${f.stage.index + 1}/${f.stage.of}` : '-',
    f.verdict ? (f.verdict.stale ? `${f.verdict.status}, no signals` : f.verdict.status) : '-',
    f.phaseReason ?? '',
  ]);
  const header = ['FLAG', 'SWITCH', 'PHASE', 'PERCENT', 'STAGE', 'VERDICT', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const text = [header, ...cells]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  return { rows: flags, text };
}

export async function statusCommand(
  target: Target,
  opts: { json: boolean; watch: boolean; intervalMs: number; signal?: AbortSignal },
  out: (text: string) => void,
): Promise<number> {
  const once = async () => {
    const { rows, text } = await statusTable(target);
    return opts.json ? JSON.stringify({ at: new Date().toISOString(), flags: rows }) : text;
  };
  if (!opts.watch) {
    out(await once());
    return 0;
  }
  // Watching redraws in place on a terminal; piped, it appends one snapshot per interval (one JSON line with --json).
  const tty = process.stdout.isTTY && !opts.json;
  while (!opts.signal?.aborted) {
    const text = await once();
    out(tty ? `\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  ${target.url}\n\n${text}` : text);
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
  }
  return 0;
}
