// `rollgate audit [--format json] [--traffic N/min]`: the hard gates of a running server; exit 1 when any fails.
import type { AuditReport } from '../audit/audit.ts';
import { request, type Target } from './api-client.ts';

const mark = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

/** One line per check, failures first, with what to do under each that is not a pass. */
export function auditText(report: AuditReport): string {
  const lines = report.checks.map((c) => {
    const head = `${mark[c.status]}  ${c.check.padEnd(27)} ${c.summary}`;
    return c.action ? `${head}\n      → ${c.action}` : head;
  });
  const overrides = report.ledger.filter((e) => e.kind !== 'escape').length;
  const escapes = report.ledger.length - overrides;
  const recent = report.ledger.slice(-10);
  if (recent.length) {
    lines.push('', `ledger (newest ${recent.length} of ${report.ledger.length}):`);
    for (const e of recent.reverse())
      lines.push(
        `  ${e.at}  ${e.kind.padEnd(20)} ${e.flag ?? '-'} by ${e.actor}${e.overrode ? ` over "${e.overrode}"` : ''}${e.reason ? `: ${e.reason}` : ''}`,
      );
  }
  lines.push(
    '',
    `audit ${report.status.toUpperCase()} at ${report.at}: ${report.counts.fail} fail, ${report.counts.warn} warn, ${report.counts.pass} pass; ledger: ${overrides} human override(s), ${escapes} escape(s) in the log`,
  );
  return lines.join('\n');
}

export async function auditCommand(
  target: Target,
  opts: { json: boolean; traffic?: number | undefined },
  out: (text: string) => void,
): Promise<number> {
  const route = `api/admin/audit${opts.traffic === undefined ? '' : `?traffic=${opts.traffic}`}`;
  const report = await request<AuditReport>(target, 'GET', route);
  out(opts.json ? JSON.stringify(report, null, 2) : auditText(report));
  return report.counts.fail > 0 ? 1 : 0;
}
