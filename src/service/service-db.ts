// The service's own database file and migrations, recorded apart from the controller's.
import { fileURLToPath } from 'node:url';
import { migrate } from '../db/migrate.ts';
import { type Db, openDb } from '../db/open.ts';

export const serviceMigrationsDir = fileURLToPath(new URL('./migrations', import.meta.url));
export const serviceMigrationsTable = 'service_migrations';

/** Opens (creating if needed) the service database and applies pending service migrations. */
export function openServiceDb(file: string): { db: Db; applied: string[] } {
  // Every task is several commits; an fsync each would stall request handling. A killed process loses nothing.
  const db = openDb(file, { synchronous: 'NORMAL' });
  try {
    const { applied } = migrate(db, serviceMigrationsDir, serviceMigrationsTable);
    return { db, applied };
  } catch (err) {
    db.close();
    throw err;
  }
}
