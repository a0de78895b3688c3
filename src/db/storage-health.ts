// Whether the database still takes writes: storage faults (disk full, I/O errors, corruption) seen by requests or by a probe, for readiness and 503s.
import type { SqlDb } from './sql.ts';

/**
 * Codes that mean the storage itself is failing, not the request: SQLite's result codes; PostgreSQL's SQLSTATE
 * classes 08 (connection), 53 (disk full, out of memory, too many connections), 57P (shut down), 58 (I/O) and
 * 25006 (read-only); and the socket errors of a server that cannot be reached.
 */
const faultCodes =
  /^(SQLITE_(FULL|IOERR|CORRUPT|NOTADB|READONLY|CANTOPEN|BUSY|LOCKED|PROTOCOL|NOLFS)|08...|53...|57P0.|58...|25006|PG_TIMEOUT$|ECONNREFUSED$|ECONNRESET$|ETIMEDOUT$|EPIPE$)/;

const plain: Record<string, string> = {
  SQLITE_FULL: 'the disk or database is full',
  SQLITE_IOERR: 'an I/O error',
  SQLITE_CORRUPT: 'the database file is corrupt',
  SQLITE_NOTADB: 'the file is not a database',
  SQLITE_READONLY: 'the database is read-only',
  SQLITE_CANTOPEN: 'the database file cannot be opened',
  SQLITE_BUSY: 'the database is locked by another writer',
  SQLITE_LOCKED: 'the database is locked',
  '53100': 'the PostgreSQL disk is full',
  '53200': 'PostgreSQL is out of memory',
  '53300': 'PostgreSQL has too many connections',
  '25006': 'PostgreSQL is read-only',
  PG_TIMEOUT: 'PostgreSQL does not answer',
  ECONNREFUSED: 'PostgreSQL refuses connections',
  ECONNRESET: 'the PostgreSQL connection was reset',
  ETIMEDOUT: 'PostgreSQL cannot be reached',
};

const plainClass = (code: string): string | undefined =>
  code.startsWith('08')
    ? 'the PostgreSQL connection failed'
    : code.startsWith('57P')
      ? 'PostgreSQL is shutting down'
      : code.startsWith('58')
        ? 'a PostgreSQL I/O error'
        : undefined;

export function storageFaultCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && faultCodes.test(code) ? code : undefined;
}

/** A sentence for the error body and readiness: what failed, in words, with the code. */
export function describeStorageFault(code: string): string {
  const base = Object.keys(plain).find((k) => code === k || code.startsWith(`${k}_`));
  return `${base ? plain[base] : (plainClass(code) ?? 'storage failure')} (${code})`;
}

export type StorageHealth = ReturnType<typeof createStorageHealth>;

/**
 * Healthy until a storage fault is seen, and again once none has been seen for `recoverMs`. A periodic probe
 * writes one row, so a failing disk shows in readiness even when no request writes.
 */
export function createStorageHealth(deps: { db: SqlDb; now: () => number; recoverMs?: number }) {
  const recoverMs = deps.recoverMs ?? 10_000;
  let lastFault: { at: number; code: string } | null = null;
  let probeStatement: ReturnType<SqlDb['prepare']> | undefined;
  const fault = (err: unknown): boolean => {
    const code = storageFaultCode(err);
    if (code) lastFault = { at: deps.now(), code };
    return code !== undefined;
  };
  return {
    /** Records `err` when it is a storage fault; true if it was. */
    fault,
    probe(): void {
      try {
        probeStatement ??= deps.db.prepare(
          `INSERT INTO meta (key, value) VALUES ('storage-probe', ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        );
        probeStatement.run(String(deps.now()));
      } catch (err) {
        if (!fault(err)) throw err;
      }
    },
    status(): { ok: boolean; error: string | null } {
      if (!lastFault || deps.now() - lastFault.at > recoverMs) return { ok: true, error: null };
      return { ok: false, error: `writes are failing: ${describeStorageFault(lastFault.code)}` };
    },
  };
}
