// `rollgate events [FLAG]`: the decision and audit log, newest first, one line per event with its reason.
import { request, type Target } from './api-client.ts';

interface EventRow {
  id: number;
  at: string;
  flag: string | null;
  type: string;
  actor: string;
  reason: string | null;
}

export async function eventsCommand(
  target: Target,
  opts: { flag?: string | undefined; type?: string | undefined; limit: number; json: boolean },
  out: (line: string) => void,
): Promise<number> {
  const q = new URLSearchParams({ limit: String(opts.limit) });
  if (opts.flag) q.set('flag', opts.flag);
  if (opts.type) q.set('type', opts.type);
  const { events } = await request<{ events: EventRow[] }>(target, 'GET', `api/admin/events?${q}`);
  if (opts.json) {
    for (const e of events) out(JSON.stringify(e));
    return 0;
  }
  if (!events.length) out('no events');
  for (const e of events) {
    const flag = opts.flag ? '' : `${e.flag ?? '-'}  `;
    out(
      `#${e.id}  ${e.at.replace('T', ' ').slice(0, 19)}  ${flag}${e.type}  by ${e.actor}${e.reason ? `: ${e.reason}` : ''}`,
    );
  }
  return 0;
}
