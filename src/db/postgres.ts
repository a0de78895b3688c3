// PostgreSQL behind the synchronous SqlDb: a worker thread holds the pool, and each statement is one blocking round-trip.
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { PgCommand, PgResponse } from './pg-worker.ts';
import { dialectOf, type SqlDb, type SqlStatement } from './sql.ts';

export interface PostgresOptions {
  /** How long one statement may take before the caller gives up on it (the worker may still finish it). */
  timeoutMs?: number;
}

/** PostgreSQL advisory lock keys, one per purpose, so no two parts of Rollgate take each other's lock. */
export const advisoryLocks = { migrate: 0x726f6c01, leader: 0x726f6c02, plans: 0x726f6c03 } as const;

/**
 * Inside a transaction: waits for the PostgreSQL lock `key` until it commits, so replicas doing the same step
 * take turns. A single SQLite writer needs none.
 */
export function takeTurns(db: SqlDb, key: number): void {
  if (dialectOf(db) === 'postgres') db.prepare('SELECT pg_advisory_xact_lock(?)').get(key);
}

/** The URL with its password replaced, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable database URL)';
  }
}

/**
 * Turns `?` and `@name` parameters into PostgreSQL's `$n`, skipping quoted text and comments. A named
 * parameter used twice is one `$n`, so PostgreSQL infers its type once (`flag = @flag OR … @flag`).
 */
export function toNumbered(sql: string): { text: string; names: string[] | null; count: number } {
  let text = '';
  let count = 0;
  const names: string[] = [];
  let positional = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      text += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      text += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      positional = true;
      text += `$${++count}`;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))?.[0] as string;
      let n = names.indexOf(name);
      if (n === -1) n = names.push(name) - 1;
      text += `$${n + 1}`;
      i += name.length;
    } else {
      text += c;
    }
  }
  if (positional && names.length) throw new Error('a statement mixes ? and @name parameters');
  return { text, names: names.length ? names : null, count: names.length || count };
}

export type PostgresDb = SqlDb & { readonly dialect: 'postgres'; readonly url: string };

/**
 * Opens PostgreSQL at `url`. Each call blocks this thread until PostgreSQL answers, as better-sqlite3 blocks for
 * its fsync; transactions hold one connection from BEGIN to COMMIT, nested ones are savepoints.
 */
export function openPostgres(url: string, opts: PostgresOptions = {}): PostgresDb {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  // Workers do not inherit tsx's loader on Node 20: register it inside the worker before loading the entry.
  const entry = new URL('./pg-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, {
    eval: true,
    workerData: { url, port: port2, flag },
    transferList: [port2],
  });
  // Statements never need this thread's event loop: a connection left open must not keep the process alive.
  worker.unref();
  port1.unref();
  let nextId = 1;
  let closed = false;
  let depth = 0;

  function call(req: PgCommand, waitMs = timeoutMs): { rows: Record<string, unknown>[]; rowCount: number } {
    if (closed) throw new Error('the PostgreSQL connection is closed');
    const id = nextId++;
    Atomics.store(flag, 0, 0);
    port1.postMessage({ ...req, id });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const received = receiveMessageOnPort(port1);
      if (received) {
        const res = received.message as PgResponse;
        if (res.id !== id) continue; // the late answer to a statement that timed out
        if ('error' in res) {
          throw Object.assign(new Error(res.error.message), {
            code: res.error.code,
            detail: res.error.detail,
          });
        }
        return res;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw Object.assign(new Error(`PostgreSQL did not answer within ${waitMs} ms (${redactUrl(url)})`), {
          code: 'PG_TIMEOUT',
        });
      }
      Atomics.wait(flag, 0, 0, left);
      Atomics.store(flag, 0, 0);
    }
  }

  function bind(names: string[] | null, count: number, params: unknown[]): unknown[] {
    if (names) {
      const o = (params[0] ?? {}) as Record<string, unknown>;
      return names.map((n) => {
        if (!(n in o)) throw new RangeError(`Missing named parameter "${n}"`);
        return o[n];
      });
    }
    if (params.length !== count) throw new RangeError(`expected ${count} parameters, got ${params.length}`);
    return params;
  }

  const db: PostgresDb = {
    dialect: 'postgres',
    url,
    prepare<P extends unknown[], R>(sql: string) {
      const { text, names, count } = toNumbered(sql);
      const query = (params: unknown[]) =>
        call({ op: 'query', sql: text, params: bind(names, count, params) });
      const statement: SqlStatement<P, R> = {
        run: (...params) => ({ changes: query(params).rowCount }),
        get: (...params) => query(params).rows[0] as R | undefined,
        all: (...params) => query(params).rows as R[],
      };
      return statement;
    },
    transaction(fn) {
      return (...args) => {
        const savepoint = depth > 0 ? `rollgate_${depth}` : null;
        call(savepoint ? { op: 'exec', sql: `SAVEPOINT ${savepoint}` } : { op: 'begin' });
        depth++;
        let result: ReturnType<typeof fn>;
        try {
          result = fn(...args) as ReturnType<typeof fn>;
        } catch (err) {
          depth--;
          try {
            call(savepoint ? { op: 'exec', sql: `ROLLBACK TO SAVEPOINT ${savepoint}` } : { op: 'rollback' });
          } catch {
            // The connection is gone: PostgreSQL has rolled back already. The first error is the one to see.
          }
          throw err;
        }
        depth--;
        call(savepoint ? { op: 'exec', sql: `RELEASE SAVEPOINT ${savepoint}` } : { op: 'commit' });
        return result;
      };
    },
    exec(sql) {
      call({ op: 'exec', sql });
    },
    close() {
      if (closed) return;
      try {
        call({ op: 'close' }, 5_000);
      } finally {
        closed = true;
        port1.close();
        void worker.terminate();
      }
    },
  } as PostgresDb;
  // The first statement waits for the thread to start and connect: a wrong URL fails here, naming it.
  try {
    call({ op: 'exec', sql: 'SELECT 1' }, Math.max(timeoutMs, 20_000));
  } catch (err) {
    db.close();
    const e = err as Error & { code?: string };
    throw Object.assign(new Error(`cannot reach PostgreSQL at ${redactUrl(url)}: ${e.message}`), {
      code: e.code,
    });
  }
  return db;
}
