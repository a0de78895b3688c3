// The audit page (/ui/audit): the latest stored audit run, failures first, with what to do, and the trust ledger.
import type { AuditReport } from '../audit/audit.ts';
import type { StoredAuditRun } from '../audit/audit-store.ts';

export function AuditPage(props: { run: StoredAuditRun | null }) {
  const { run } = props;
  if (!run)
    return (
      <section>
        <h1>Audit</h1>
        <p class="muted">
          No audit has been stored yet: the scheduled run comes one ROLLGATE_AUDIT_INTERVAL after start, or
          run one now with <code>POST /api/admin/audit/runs</code>.
        </p>
      </section>
    );
  const report = run.report as AuditReport;
  return (
    <section>
      <h1>Audit</h1>
      <p data-audit-status={run.status}>
        {`${run.status.toUpperCase()} at ${new Date(run.at).toISOString()} (${run.trigger}): ${report.counts.fail} fail, ${report.counts.warn} warn, ${report.counts.pass} pass`}
      </p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Check</th>
              <th scope="col">Finding</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            {report.checks.map((c) => (
              <tr data-check={c.check} data-status={c.status}>
                <td class={`audit-${c.status}`}>{c.status}</td>
                <td class="small">{c.check}</td>
                <td>{c.summary}</td>
                <td class="small">{c.action}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Trust ledger</h2>
      {report.ledger.length ? (
        <ul>
          {[...report.ledger].reverse().map((e) => (
            <li data-ledger={e.kind}>
              {`${e.at} ${e.kind} ${e.flag ?? '-'} by ${e.actor}${e.overrode ? ` over "${e.overrode}"` : ''}${e.reason ? `: ${e.reason}` : ''}`}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No human overrides or escapes in the log.</p>
      )}
    </section>
  );
}
