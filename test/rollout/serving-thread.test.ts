// The serving thread is held to account: while a tick assesses 100 flags with a day of history, SDK polls keep answering.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { tempDir, testConfig, testTokens } from '../helpers/rollgate.ts';

const flags = 100;
const minutes = 24 * 60;
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const s of stops.splice(0)) await s();
});

describe('the serving thread during a tick', () => {
  it('answers SDK polls while a tick assesses 100 flags with a day of history', async () => {
    const flagsDir = tempDir('rollgate-flags-');
    for (let i = 0; i < flags; i++) {
      fs.writeFileSync(
        path.join(flagsDir, `f${i}.yaml`),
        `name: load.f${i}\ndescription: d\nowner: o\ntype: release\nrollout:\n  stages: [{ percent: 5, bake: 1h }, { percent: 100 }]\n  guardrails:\n    - { metric: errors, worse: higher }\n    - { metric: errors, worse: higher, max: 0.05 }\n`,
      );
    }
    const config = testConfig({ flagsDir });
    const now = Date.now();
    let clockNow = now;
    const rg = createRollgate(config, { log: silentLogger, clock: () => clockNow });
    stops.push(() => rg.stop());
    const { url } = await rg.start();
    await rg.scheduler.stop(); // ticks only when the test says
    // A day of control history and treatment since the start, per flag: what every tick folds today.
    const start = now - minutes * 60_000;
    for (let i = 0; i < flags; i++) {
      const records = [];
      for (let m = 0; m < minutes; m++) {
        const at = start + m * 60_000;
        records.push({ flag: `load.f${i}`, arm: 'control', at, requests: 950, errors: 5 });
        records.push({ flag: `load.f${i}`, arm: 'treatment', at, requests: 50, errors: 0 });
      }
      rg.signals.ingest(records);
    }
    for (let i = 0; i < flags; i++) {
      await rg.app.request(`/api/admin/flags/load.f${i}/rollout/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testTokens.admin}` },
      });
    }
    const poll = () =>
      fetch(`${url}/api/client/features`, { headers: { authorization: testTokens.client } }).then((r) => {
        expect(r.status).toBe(200);
        return r.arrayBuffer();
      });
    await poll(); // a warm connection and document
    let tickDone = false;
    const tick = rg.scheduler.tick().then((report) => {
      tickDone = true;
      return report;
    });
    // Polls sent after the tick began: with assessment on the serving thread they would all wait for it.
    let answeredDuringTick = 0;
    for (let i = 0; i < 20 && !tickDone; i++) {
      await poll();
      if (!tickDone) answeredDuringTick++;
    }
    const report = await tick;
    expect(report.flags).toHaveLength(flags);
    expect(report.flags.every((f) => !f.error)).toBe(true);
    expect(answeredDuringTick).toBeGreaterThan(0);

    // Once the rollout start has settled, a tick stores every flag's fold and the next goes on from it.
    clockNow = now + 3 * 60_000;
    await rg.scheduler.tick();
    const folded = rg.db.prepare('SELECT COUNT(DISTINCT flag) AS n FROM fold_state').get() as { n: number };
    expect(folded.n).toBe(flags);
    clockNow += 1000;
    let secondDone = false;
    const second = rg.scheduler.tick().then((r) => {
      secondDone = true;
      return r;
    });
    let answeredDuringSecond = 0;
    while (!secondDone) {
      await poll();
      if (!secondDone) answeredDuringSecond++;
    }
    expect((await second).flags.every((f) => !f.error)).toBe(true);
    expect(answeredDuringSecond + answeredDuringTick).toBeGreaterThan(0);
    // What the thread's folds say is what folding from scratch on this thread says.
    for (const i of [0, 37, 99]) {
      const flag = rg.controller.requireFlag(`load.f${i}`);
      expect(rg.scheduler.latest(flag.plan.name)?.verdict).toEqual(
        rg.flagHealth.check(flag, clockNow).verdict,
      );
    }
  }, 120_000);
});
