// The PostgreSQL bridge's thread: one pg Pool, each statement answered through a port and a shared flag the caller waits on.
import { type MessagePort, workerData } from 'node:worker_threads';
import pg from 'pg';

export type PgCommand =
  | { op: 'query'; sql: string; params: unknown[] }
  | { op: 'exec'; sql: string }
  | { op: 'begin' | 'commit' | 'rollback' | 'close' };
export type PgRequest = PgCommand & { id: number };

export type PgResponse =
  | { id: number; rows: Record<string, unknown>[]; rowCount: number }
  | { id: number; error: { message: string; code?: string; detail?: string } };

const { url, port, flag } = workerData as { url: string; port: MessagePort; flag: Int32Array };

// Counts and millisecond timestamps are BIGINT, sums NUMERIC: as JS numbers, as SQLite gives them.
const toNumber = (v: string) => Number(v);
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return toNumber;
    return pg.types.getTypeParser(oid, format);
  },
};
// One connection: the caller waits for every statement, so a second would never be used at the same time.
const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000, types });
// A dropped idle connection is replaced on the next statement; the error itself is answered there.
pool.on('error', () => {});
let pinned: pg.PoolClient | undefined;

async function answer(req: PgRequest): Promise<Omit<PgResponse, 'id'>> {
  switch (req.op) {
    case 'query': {
      const r = await (pinned ?? pool).query({ text: req.sql, values: req.params });
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    }
    case 'exec':
      await (pinned ?? pool).query(req.sql);
      return { rows: [], rowCount: 0 };
    case 'begin':
      pinned = await pool.connect();
      try {
        await pinned.query('BEGIN');
      } catch (err) {
        release(err as Error);
        throw err;
      }
      return { rows: [], rowCount: 0 };
    case 'commit':
    case 'rollback': {
      const client = pinned;
      if (!client) throw new Error(`${req.op} outside a transaction`);
      try {
        await client.query(req.op.toUpperCase());
        release();
      } catch (err) {
        release(err as Error);
        throw err;
      }
      return { rows: [], rowCount: 0 };
    }
    case 'close':
      release();
      await pool.end();
      return { rows: [], rowCount: 0 };
  }
}

/** Gives the transaction's connection back; one that failed is discarded rather than reused half-aborted. */
function release(err?: Error) {
  pinned?.release(err);
  pinned = undefined;
}

port.on('message', async (req: PgRequest) => {
  let res: PgResponse;
  try {
    res = { id: req.id, ...(await answer(req)) } as PgResponse;
  } catch (err) {
    const e = err as Error & { code?: string; detail?: string };
    res = { id: req.id, error: { message: e.message, code: e.code, detail: e.detail } };
  }
  port.postMessage(res);
  Atomics.store(flag, 0, req.id);
  Atomics.notify(flag, 0);
  if (req.op === 'close') port.close();
});
