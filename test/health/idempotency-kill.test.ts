// Signal batches with idempotency keys, posted and retried while the server is killed with SIGKILL: each acknowledged batch is stored exactly once.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/random.ts';
import { childEnv, freePort, kill9, startChild } from '../helpers/child-server.ts';
import { fixturePlansDir, makeFlagsDir, tempDir, testTokens } from '../helpers/rollgate.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Batch i: one record of i + 1 control requests, so the stored total shows any batch stored twice or lost. */
const batchBody = (i: number) =>
  JSON.stringify({
    records: [
      { flag: 'checkout.new-flow', arm: 'control', at: '2026-11-02T10:00:00Z', requests: i + 1, errors: 0 },
    ],
  });

describe('idempotent signals across kill -9', () => {
  it('stores every acknowledged batch exactly once while the server dies mid-request and batches are retried', async () => {
    const dataDir = tempDir();
    const env = childEnv({
      PORT: String(await freePort()),
      ROLLGATE_DATA_DIR: dataDir,
      ROLLGATE_FLAGS_DIR: makeFlagsDir([path.join(fixturePlansDir, 'checkout.new-flow.yaml')]),
    });
    let server = await startChild(env, children);
    const random = seededRandom(42);
    const batches = 30;
    let kills = 0;
    let replays = 0;
    for (let i = 0; i < batches; i++) {
      const body = batchBody(i);
      const key = `batch-${i}`;
      // Retried under the same key until acknowledged; about one post in five has the server killed under it.
      for (let attempt = 0; attempt < 10; attempt++) {
        const post = fetch(`${server.url}/api/signals`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${testTokens.ingest}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body,
        }).then(
          async (r) => ({
            status: r.status,
            replayed: r.headers.get('idempotent-replayed') === 'true',
            answer: await r.json(),
          }),
          () => null,
        );
        if (random() < 0.2 && kills < 6) {
          await new Promise((r) => setTimeout(r, Math.floor(random() * 15)));
          await kill9(server.child);
          kills++;
          await post;
          server = await startChild(env, children);
          continue; // acknowledged or not, the sender never saw the answer: it retries
        }
        const result = await post;
        if (result?.status === 200) {
          expect(result.answer).toEqual({ accepted: 1 });
          if (result.replayed) replays++;
          break;
        }
      }
    }
    // Every batch again, as a sender whose answers were all lost would: each is answered again, none stored again.
    for (let i = 0; i < batches; i++) {
      const res = await fetch(`${server.url}/api/signals`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${testTokens.ingest}`,
          'content-type': 'application/json',
          'idempotency-key': `batch-${i}`,
        },
        body: batchBody(i),
      });
      expect(res.headers.get('idempotent-replayed')).toBe('true');
    }
    await kill9(server.child);
    const db = new Database(path.join(dataDir, 'rollgate.db'), { readonly: true });
    const stored = db.prepare("SELECT SUM(count) AS n FROM signal_buckets WHERE metric = 'errors'").get() as {
      n: number;
    };
    db.close();
    expect(kills).toBeGreaterThan(0);
    expect(stored.n).toBe((batches * (batches + 1)) / 2);
    console.log(
      `idempotency under kill -9: ${kills} kills, ${replays} retries answered from a batch committed before its kill`,
    );
  }, 120_000);
});
