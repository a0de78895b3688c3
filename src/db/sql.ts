// The synchronous SQL connection every store is written against: better-sqlite3's Database as it is, or the PostgreSQL bridge.

/** A statement's parameters: a tuple of positional (`?`) values, or `[object]` of named (`@name`) ones. */
export interface SqlStatement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): { changes: number };
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/**
 * What the stores use of a connection, no more. SQL is written once for both engines (ON CONFLICT, RETURNING,
 * `?` or `@name` parameters); `dialect` is only for the rare statement that must differ. better-sqlite3's
 * Database has no `dialect`, and that means SQLite.
 */
// biome-ignore lint/suspicious/noExplicitAny: as better-sqlite3 spells it.
type ArgsOf<F extends (...params: any[]) => unknown> = F extends (...args: infer A) => unknown ? A : never;

export interface SqlDb {
  readonly dialect?: 'sqlite' | 'postgres';
  // biome-ignore lint/complexity/noBannedTypes: the same parameter shape as better-sqlite3's, so its Database fits.
  prepare<P extends unknown[] | {} = unknown[], R = unknown>(
    sql: string,
  ): P extends unknown[] ? SqlStatement<P, R> : SqlStatement<[P], R>;
  /** Wraps `fn` so that each call runs in one transaction (a savepoint when already inside one). */
  // biome-ignore lint/suspicious/noExplicitAny: better-sqlite3's own bound, so its Database fits.
  transaction<F extends (...params: any[]) => unknown>(fn: F): (...params: ArgsOf<F>) => ReturnType<F>;
  /** Runs one or more statements without parameters (migrations). */
  exec(sql: string): unknown;
  close(): unknown;
}

export const dialectOf = (db: SqlDb): 'sqlite' | 'postgres' => db.dialect ?? 'sqlite';
