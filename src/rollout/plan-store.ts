// SQL for plans as loaded: what each flag should do, as the last good load of flags/ said.
import type { SqlDb } from '../db/sql.ts';
import type { Plan } from '../plans/schema.ts';

export interface StoredPlan {
  plan: Plan;
  file: string;
  checksum: string;
  loadedAt: number;
}

interface Row {
  name: string;
  spec: string;
  file: string;
  checksum: string;
  loaded_at: number;
}

const toStored = (r: Row): StoredPlan => ({
  plan: JSON.parse(r.spec) as Plan,
  file: r.file,
  checksum: r.checksum,
  loadedAt: r.loaded_at,
});

export type PlanStore = ReturnType<typeof createPlanStore>;

export function createPlanStore(db: SqlDb) {
  const active = db.prepare<[], Row>('SELECT * FROM plans WHERE removed_at IS NULL ORDER BY name');
  const one = db.prepare<[string], Row>('SELECT * FROM plans WHERE name = ? AND removed_at IS NULL');
  const upsert = db.prepare(
    `INSERT INTO plans (name, spec, file, checksum, loaded_at, removed_at) VALUES (?, ?, ?, ?, ?, NULL)
     ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, file = excluded.file, checksum = excluded.checksum,
       loaded_at = excluded.loaded_at, removed_at = NULL`,
  );
  const remove = db.prepare('UPDATE plans SET removed_at = ? WHERE name = ?');
  return {
    list(): StoredPlan[] {
      return active.all().map(toStored);
    },
    get(name: string): StoredPlan | undefined {
      const row = one.get(name);
      return row && toStored(row);
    },
    put(plan: Plan, file: string, checksum: string, now: number): void {
      upsert.run(plan.name, JSON.stringify(plan), file, checksum, now);
    },
    markRemoved(name: string, now: number): void {
      remove.run(now, name);
    },
  };
}
