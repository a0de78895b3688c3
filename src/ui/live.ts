// Live updates for signed-in pages over Server-Sent Events: each flag change is pushed once, as the row's new markup.
import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { Logger } from '../log.ts';
import type { Controller } from '../rollout/controller.ts';

interface Client {
  stream: SSEStreamingApi;
  end: () => void;
  /** The session it was opened under: signing out ends it. */
  sid: string;
}

export interface LiveUpdate {
  name: string;
  phase: string;
  percent: number;
  /** The flags page's row for this flag, rendered on the server. */
  row: string;
}

export type LiveHub = ReturnType<typeof createLiveHub>;

export function createLiveHub(deps: {
  controller: Controller;
  /** The update for one flag now; null when it no longer exists. */
  render: (name: string) => LiveUpdate | null;
  log: Logger;
  /** Verdicts move without a transition as signals arrive: rows are re-rendered this often while anyone watches. */
  refreshMs?: number;
  heartbeatMs?: number;
}) {
  const clients = new Set<Client>();
  const lastSent = new Map<string, string>();
  let timers: NodeJS.Timeout[] = [];

  const drop = (client: Client) => {
    if (!clients.delete(client)) return;
    client.end();
    if (clients.size === 0) {
      for (const t of timers) clearInterval(t);
      timers = [];
    }
  };
  const write = (client: Client, event: string, data: string) => {
    client.stream.writeSSE({ event, data }).catch((err) => {
      deps.log.debug('dashboard stream dropped', { err });
      drop(client);
    });
  };
  const push = (names: string[], onlyChanged: boolean) => {
    if (!clients.size) return;
    for (const name of names) {
      const update = deps.render(name);
      if (!update) continue;
      const data = JSON.stringify(update);
      if (onlyChanged && lastSent.get(name) === update.row) continue;
      lastSent.set(name, update.row);
      for (const client of clients) write(client, 'flag', data);
    }
  };
  // Rendering waits for the next turn, so a transition's caller (an alert, an API call) is answered first.
  const unsubscribe = deps.controller.onChange((names) => {
    if (!clients.size) return;
    setImmediate(() => {
      try {
        push(names, false);
      } catch (err) {
        deps.log.error('dashboard live update failed', { err });
      }
    });
  });

  const startTimers = () => {
    if (timers.length) return;
    const refresh = setInterval(() => {
      try {
        push(
          deps.controller.listFlags().map((f) => f.plan.name),
          true,
        );
      } catch (err) {
        deps.log.error('dashboard refresh failed', { err });
      }
    }, deps.refreshMs ?? 10_000);
    const heartbeat = setInterval(() => {
      for (const client of clients) client.stream.write(': heartbeat\n\n').catch(() => drop(client));
    }, deps.heartbeatMs ?? 25_000);
    refresh.unref();
    heartbeat.unref();
    timers = [refresh, heartbeat];
  };

  return {
    clients: () => clients.size,
    /** Opens a stream that lives until the client leaves, the session expires, or the server stops. */
    open(c: Context, session: { sid: string; endsInMs: number }) {
      const response = streamSSE(c, (stream) => {
        let end = () => {};
        const open = new Promise<void>((resolve) => {
          end = resolve;
        });
        const client: Client = { stream, end, sid: session.sid };
        clients.add(client);
        startTimers();
        stream.onAbort(() => drop(client));
        const expiry = setTimeout(() => drop(client), Math.max(0, Math.min(session.endsInMs, 2 ** 31 - 1)));
        expiry.unref();
        void stream.writeSSE({ event: 'ready', data: '{}' });
        return open.finally(() => clearTimeout(expiry));
      });
      response.headers.set('Connection', 'close');
      response.headers.set('X-Accel-Buffering', 'no');
      return response;
    },
    /** Ends the streams of a session that signed out. */
    endSession(sid: string) {
      for (const client of [...clients]) if (client.sid === sid) drop(client);
    },
    close() {
      unsubscribe();
      for (const client of [...clients]) drop(client);
    },
  };
}
