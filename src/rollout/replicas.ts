// Several replicas on one PostgreSQL: which one leads (runs the scheduler), and hearing the changes every other one makes.
import os from 'node:os';
import pg from 'pg';
import { advisoryLocks, redactUrl } from '../db/postgres.ts';
import type { Logger } from '../log.ts';
import { changesChannel } from './event-store.ts';

export interface ReplicaStatus {
  /** This replica: ROLLGATE_REPLICA_ID, or hostname:pid. */
  id: string;
  /** `single`: one process on its SQLite file, always the leader. `postgres`: elected by an advisory lock. */
  mode: 'single' | 'postgres';
  leading: boolean;
  /** The replica holding the lock, as it last wrote itself into the database (null until one did). */
  leader: { id: string; since: string; seenAt: string } | null;
  /** Whether this replica hears other replicas' changes at once (LISTEN); the periodic check runs regardless. */
  listening: boolean;
  /** Whether the plan folder this replica loaded is the one in force, and whose is. */
  plans?: { same: boolean; mine: string; applied: { digest: string; by: string; at: string } | null };
}

export const defaultReplicaId = () => `${os.hostname()}:${process.pid}`;

export type Replicas = ReturnType<typeof createReplicas>;

/**
 * Without a URL this process is the only one and always leads. With one, every `intervalMs` it tries to take the
 * leader lock (`pg_try_advisory_lock`, held on a connection of its own, so it is released the moment the process
 * or its connection dies), checks that a held lock's connection still answers, and records the leader in the
 * database; another connection LISTENs for changes and calls `onChange` for each.
 */
export function createReplicas(opts: {
  url: string | undefined;
  id: string;
  intervalMs: number;
  log: Logger;
  onChange: () => void;
  planFolder?: () => {
    same: boolean;
    mine: string;
    applied: { digest: string; by: string; at: number } | null;
  };
}) {
  const { url, id, log } = opts;
  let leading = !url;
  let leaderSince: number | null = url ? null : Date.now();
  let leader: ReplicaStatus['leader'] = null;
  let lockClient: pg.Client | undefined;
  let listenClient: pg.Client | undefined;
  let listening = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  let running: Promise<void> | undefined;

  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: Math.max(1000, opts.intervalMs),
    });
    client.on('error', () => {}); // answered on the next statement, which fails and drops the client
    await client.connect();
    return client;
  };

  const lose = (why: string, err?: unknown) => {
    if (leading) log.warn('no longer the leader; the scheduler stops here', { replica: id, why, err });
    leading = false;
    leaderSince = null;
    const c = lockClient;
    lockClient = undefined;
    void c?.end().catch(() => {});
  };

  async function elect(): Promise<void> {
    try {
      lockClient ??= await connect();
      if (leading) {
        await lockClient.query('SELECT 1');
      } else {
        const r = await lockClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
          advisoryLocks.leader,
        ]);
        if (r.rows[0]?.ok) {
          leading = true;
          leaderSince = Date.now();
          log.info('leading: this replica runs the scheduler', { replica: id });
        }
      }
      if (leading) {
        const value = JSON.stringify({ id, since: new Date(leaderSince ?? Date.now()).toISOString() });
        await lockClient.query(
          `INSERT INTO meta (key, value) VALUES ('leader', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [value],
        );
      }
      const r = await lockClient.query<{ value: string }>("SELECT value FROM meta WHERE key = 'leader'");
      const row = r.rows[0];
      if (row)
        leader = {
          ...(JSON.parse(row.value) as { id: string; since: string }),
          seenAt: new Date().toISOString(),
        };
    } catch (err) {
      lose('its connection to PostgreSQL failed', err);
    }
  }

  async function listen(): Promise<void> {
    if (listenClient) return;
    try {
      const client = await connect();
      client.on('notification', () => {
        try {
          opts.onChange();
        } catch (err) {
          log.error('applying a change announced by another replica failed; the periodic check retries', {
            err,
          });
        }
      });
      const drop = () => {
        if (listenClient !== client) return;
        listenClient = undefined;
        listening = false;
        log.warn('stopped hearing other replicas; the periodic check covers until it reconnects', {
          replica: id,
        });
      };
      client.on('error', drop);
      client.on('end', drop);
      await client.query(`LISTEN ${changesChannel}`);
      listenClient = client;
      listening = true;
      // What changed while not listening is caught up at once.
      opts.onChange();
    } catch (err) {
      log.warn('cannot listen for other replicas yet; retrying', { database: redactUrl(url ?? ''), err });
    }
  }

  async function round(): Promise<void> {
    await Promise.all([elect(), listen()]);
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(() => {
        running = undefined;
        schedule();
      });
    }, opts.intervalMs);
    timer.unref();
  }

  return {
    leading: () => leading,
    status(): ReplicaStatus {
      const single = {
        id,
        since: new Date(leaderSince ?? Date.now()).toISOString(),
        seenAt: new Date().toISOString(),
      };
      const folder = opts.planFolder?.();
      const plans = folder && {
        ...folder,
        applied: folder.applied && { ...folder.applied, at: new Date(folder.applied.at).toISOString() },
      };
      return {
        id,
        mode: url ? 'postgres' : 'single',
        leading,
        leader: url ? leader : single,
        listening: url ? listening : true,
        ...(plans ? { plans } : {}),
      };
    },
    /** Takes part in the election at once (so one replica leads before the first tick), then every interval. */
    async start(): Promise<void> {
      if (!url || !stopped) return;
      stopped = false;
      await round();
      schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
      const clients = [lockClient, listenClient];
      lockClient = undefined;
      listenClient = undefined;
      leading = !url;
      listening = false;
      await Promise.all(clients.map((c) => c?.end().catch(() => {})));
    },
  };
}
