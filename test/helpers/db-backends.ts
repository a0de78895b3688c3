// The two state backends for the store contract tests: SQLite on a temp file, PostgreSQL in a fresh database per test.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { describe, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { openDb } from '../../src/db/open.ts';
import { openPostgres } from '../../src/db/postgres.ts';
import type { SqlDb } from '../../src/db/sql.ts';
import { migrationsDir, migrationsPgDir } from '../../src/main.ts';
import { tempDir } from './rollgate.ts';

/** One migrated database under test, and more connections to it as other processes would open them. */
export interface DbUnderTest {
  db: SqlDb;
  /** Another connection on the same database; closed with the rest. */
  connect(): SqlDb;
  /** What a Rollgate process needs in its environment to use this database (PostgreSQL only). */
  url?: string;
  close(): Promise<void>;
}

export interface DbBackend {
  name: 'sqlite' | 'postgres';
  open(): Promise<DbUnderTest>;
}

export const sqliteDbBackend: DbBackend = {
  name: 'sqlite',
  async open() {
    const file = path.join(tempDir('rollgate-contract-'), 'rollgate.db');
    const first = openDb(file);
    migrate(first, migrationsDir);
    const handles: SqlDb[] = [first];
    return {
      db: first,
      connect() {
        const db = openDb(file);
        handles.push(db);
        return db;
      },
      async close() {
        for (const db of handles.splice(0)) db.close();
      },
    };
  },
};

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/** Runs one statement on the server's maintenance database (`CREATE DATABASE` cannot run in a transaction). */
async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A database of its own, `rollgate_t_<random>`, created from the server's and dropped after. */
export async function freshPostgresDatabase(
  serverUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `rollgate_t_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  return {
    url: withDatabase(serverUrl, name),
    drop: () => admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export function postgresDbBackend(serverUrl: string): DbBackend {
  return {
    name: 'postgres',
    async open() {
      const fresh = await freshPostgresDatabase(serverUrl);
      const first = openPostgres(fresh.url);
      migrate(first, migrationsPgDir);
      const handles: SqlDb[] = [first];
      return {
        db: first,
        url: fresh.url,
        connect() {
          const db = openPostgres(fresh.url);
          handles.push(db);
          return db;
        },
        async close() {
          for (const db of handles.splice(0)) db.close();
          await fresh.drop();
        },
      };
    },
  };
}

/**
 * Where the PostgreSQL tests run: ROLLGATE_TEST_DATABASE_URL makes them required (unreachable is a failure, so
 * CI never skips silently); without it they run when a local server answers within a short timeout.
 */
export async function findTestPostgres(): Promise<{ url: string; required: boolean; reachable: boolean }> {
  const configured = process.env.ROLLGATE_TEST_DATABASE_URL;
  const url = configured || 'postgres://postgres@127.0.0.1:5432/postgres';
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  probe.on('error', () => {});
  let reachable = false;
  try {
    await probe.connect();
    reachable = (await probe.query('SELECT 1 AS one')).rows[0]?.one === 1;
  } catch {
    reachable = false;
  } finally {
    await probe.end().catch(() => {});
  }
  return { url, required: Boolean(configured), reachable };
}

/**
 * The backends a test file runs against. Without PostgreSQL it says once what was not run (`what`); with
 * ROLLGATE_TEST_DATABASE_URL set but unreachable it registers a failing test instead of skipping.
 */
export async function dbBackends(what: string): Promise<DbBackend[]> {
  const server = await findTestPostgres();
  if (server.reachable) return [sqliteDbBackend, postgresDbBackend(server.url)];
  if (server.required) {
    describe('PostgreSQL backend', () => {
      it('reaches the PostgreSQL named by ROLLGATE_TEST_DATABASE_URL', () => {
        throw new Error(
          'ROLLGATE_TEST_DATABASE_URL is set but that PostgreSQL does not answer: the PostgreSQL half cannot run',
        );
      });
    });
  } else {
    console.log(
      `PostgreSQL tests NOT run (${what}): nothing answers at ${server.url} and ROLLGATE_TEST_DATABASE_URL is unset`,
    );
  }
  return [sqliteDbBackend];
}
