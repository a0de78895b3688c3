// `rollgate drill`: run a rollback drill on a running server, wait for it, and print who took the change and when.
import type { DrillRun } from '../sdk/drill.ts';
import { CliError, request, type Target } from './api-client.ts';

const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The drill as a person reads it: one line per SDK instance, one per holdback, then the verdict. */
export function drillText(d: DrillRun): string {
  const lines = [`drill #${d.id} ${d.status}: revision ${d.revision}, timeout ${secondsOf(d.timeoutMs)}`];
  for (const i of d.instances) {
    const took = i.tookMs === null ? 'NEVER took the change' : `took it after ${secondsOf(i.tookMs)}`;
    lines.push(`  ${i.instance}  ${i.connection ?? '-'}  ${took}`);
  }
  for (const h of d.holdbacks) lines.push(`  holdback ${h.flag}: ${h.status} — ${h.summary}`);
  lines.push(d.summary);
  return lines.join('\n');
}

export async function drillCommand(
  target: Target,
  opts: { reason?: string | undefined; timeout?: string | undefined; json: boolean; pollMs?: number },
  out: (text: string) => void,
): Promise<number> {
  const body = {
    ...(opts.reason ? { reason: opts.reason } : {}),
    ...(opts.timeout ? { timeout: opts.timeout } : {}),
  };
  const started = await request<{ drill: DrillRun }>(target, 'POST', 'api/admin/drill', body);
  const { id } = started.drill;
  // The server ends the drill by its deadline; a little past it, something is wrong.
  const giveUpAt = Date.parse(started.drill.deadline) + 30_000;
  let drill = started.drill;
  while (drill.status === 'running') {
    if (Date.now() > giveUpAt) throw new CliError(`drill #${id} still running 30 s past its deadline`);
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 500));
    const res = await request<{ drill: DrillRun | null }>(target, 'GET', 'api/admin/drill');
    if (!res.drill || res.drill.id !== id) throw new CliError(`drill #${id} is no longer the server's drill`);
    drill = res.drill;
  }
  out(opts.json ? JSON.stringify(drill) : drillText(drill));
  // Exit 0 only when every SDK instance seen recently took the change.
  return drill.status === 'passed' ? 0 : 1;
}
