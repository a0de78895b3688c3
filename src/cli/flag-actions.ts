// `rollgate start|pause|resume|promote|rollback|disable|enable FLAG`: one admin action, and the flag's state after it.
import { percentOf } from '../rollout/explain.ts';
import { CliError, request, type Target } from './api-client.ts';

export const flagActions = ['start', 'pause', 'resume', 'promote', 'rollback', 'disable', 'enable'] as const;
export type FlagAction = (typeof flagActions)[number];

export interface FlagView {
  name: string;
  enabled: boolean;
  phase: string;
  percent: number;
  stage: { index: number; of: number; percent?: number } | null;
  phaseReason: string | null;
}

const routeOf = (action: FlagAction, flag: string) =>
  `api/admin/flags/${encodeURIComponent(flag)}/${action === 'disable' || action === 'enable' ? action : `rollout/${action}`}`;

export async function flagActionCommand(
  target: Target,
  action: FlagAction,
  flag: string,
  opts: { reason?: string | undefined; to?: string | undefined },
  out: (line: string) => void,
): Promise<number> {
  if (opts.to !== undefined && action !== 'promote') throw new CliError('--to applies to promote only', 2);
  if (opts.to !== undefined && opts.to !== 'full' && opts.to !== 'next')
    throw new CliError(`--to must be full or next, not "${opts.to}"`, 2);
  const body = {
    ...(opts.reason ? { reason: opts.reason } : {}),
    ...(opts.to ? { to: opts.to } : {}),
  };
  const res = await request<{ flag: FlagView; eventId: number | null }>(
    target,
    'POST',
    routeOf(action, flag),
    body,
  );
  const f = res.flag;
  const where = f.stage ? `, stage ${f.stage.index + 1}/${f.stage.of}` : '';
  const recorded = res.eventId === null ? 'nothing changed' : `event #${res.eventId}`;
  out(
    `${f.name}: ${f.enabled ? f.phase : `${f.phase}, disabled`} serving ${percentOf(f.percent)}${where} (${recorded})`,
  );
  return 0;
}
