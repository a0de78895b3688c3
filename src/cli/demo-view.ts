// The demo's terminal view: a live table per flag, and the closing summary of decisions and evidence.
import type { TrafficStats } from './demo-traffic.ts';

export interface FlagRow {
  name: string;
  phase: string;
  flag: {
    phase: string;
    percent: number;
    stage: { index: number; of: number } | null;
    phaseReason: string | null;
  };
  verdict: {
    status: string;
    exposure: { treatmentRequests: number };
    guardrails: Array<{ name: string; status: string; advisory?: boolean }>;
  };
}

interface DemoEvent {
  at: string;
  type: string;
  actor: string;
  reason: string | null;
  data: Record<string, unknown>;
}

const pad = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));

export function renderTable(rows: FlagRow[], t: TrafficStats, simMinutes: number): string {
  const head = `${pad('FLAG', 24)}${pad('PHASE', 13)}${pad('STAGE', 7)}${pad('SERVED', 8)}${pad('TREATMENT REQ', 15)}VERDICT\n`;
  const lines = rows.map((r) => {
    const stage = r.flag.stage ? `${r.flag.stage.index + 1}/${r.flag.stage.of}` : '-';
    const worst = r.verdict.guardrails.find((g) => g.status !== 'healthy' && !g.advisory);
    // A stopped rollout shows why it stopped; a running one shows what it is waiting for.
    const stopped = r.flag.phase === 'rolled-back' || r.flag.phase === 'paused' ? r.flag.phaseReason : null;
    const verdict = stopped ?? (worst ? `${worst.name}: ${worst.status}` : r.verdict.status);
    return `${pad(r.name, 24)}${pad(r.flag.phase, 13)}${pad(stage, 7)}${pad(`${r.flag.percent}%`, 8)}${pad(String(r.verdict.exposure.treatmentRequests), 15)}${pad(verdict, 90)}\n`;
  });
  const traffic = `traffic: ${t.requests} requests · tasks inline ${t.tasksInline} / queued ${t.tasksQueued} · offers ${t.offers} · purchases ${t.purchases}`;
  return `simulated time +${Math.floor(simMinutes)} min\n${head}${lines.join('')}${traffic}\n`;
}

export function renderSummary(
  flags: string[],
  events: DemoEvent[][],
  pricing: Array<{ arms: Record<string, Record<string, number>> }>,
  t: TrafficStats,
): string {
  const out: string[] = ['\nDecisions (newest last):'];
  flags.forEach((flag, i) => {
    out.push(`\n  ${flag}`);
    const decisions = (events[i] ?? []).filter((e) => e.type.startsWith('rollout.')).reverse();
    for (const e of decisions) {
      out.push(
        `    ${e.at.slice(11, 19)}  ${pad(e.type.replace('rollout.', ''), 13)} by ${pad(e.actor, 11)} ${e.reason ?? ''}`,
      );
    }
  });
  const arms = new Map<string, { units: number; conversions: number; revenue: number }>();
  for (const interval of pricing) {
    for (const [arm, v] of Object.entries(interval.arms)) {
      const a = arms.get(arm) ?? { units: 0, conversions: 0, revenue: 0 };
      a.units += v.units ?? 0;
      a.conversions += v.conversions ?? 0;
      a.revenue += v.revenue ?? 0;
      arms.set(arm, a);
    }
  }
  out.push('\n  pricing readout (per exposed user):');
  for (const [arm, a] of [...arms].sort()) {
    if (!a.units) continue;
    const conv = ((100 * a.conversions) / a.units).toFixed(2);
    out.push(
      `    ${pad(arm, 10)} ${String(a.units).padStart(7)} users  conversion ${conv} %  revenue ${(a.revenue / a.units).toFixed(3)}`,
    );
  }
  out.push(
    `\n  traffic: ${t.requests} requests, ${t.failures} answered 5xx, ${t.transportErrors} transport errors`,
  );
  return `${out.join('\n')}\n`;
}
