// The plan watcher through real deployments: folder deleted and recreated, swapped with mv, ConfigMap symlink swap.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRollgate } from '../../src/main.ts';
import { tempDir, testConfig, testTokens } from '../helpers/rollgate.ts';

const plan = (name: string) => `name: ${name}\ndescription: d\nowner: o\ntype: release\nenabled: true\n`;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function watching(flagsDir: string) {
  const config = testConfig({ flagsDir, env: { ROLLGATE_WATCH: 'true' } });
  const rg = createRollgate(config, { log: silentLogger, watchPollMs: 100 });
  stops.push(() => rg.stop());
  const { url } = await rg.start();
  const names = async () => {
    const res = await fetch(`${url}/api/admin/flags`, {
      headers: { authorization: `Bearer ${testTokens.admin}` },
    });
    return ((await res.json()) as { flags: Array<{ name: string }> }).flags.map((f) => f.name);
  };
  /** Waits (bounded) until the served flags are `want`. */
  const serves = async (want: string[]) => {
    for (let i = 0; i < 100; i++) {
      if (JSON.stringify(await names()) === JSON.stringify(want)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await names()).toEqual(want);
  };
  const ready = async () =>
    (await (await fetch(`${url}/health/ready`)).json()) as { checks: { watcher: { alive: boolean } } };
  return { rg, serves, ready };
}

function writeAll(dir: string, names: string[]) {
  fs.mkdirSync(dir, { recursive: true });
  for (const n of names) fs.writeFileSync(path.join(dir, `${n}.yaml`), plan(n));
}

describe('the plan watcher', () => {
  it('keeps working after the folder is deleted and recreated', async () => {
    const root = tempDir();
    const dir = path.join(root, 'flags');
    writeAll(dir, ['a', 'b']);
    const w = await watching(dir);
    fs.rmSync(dir, { recursive: true });
    writeAll(dir, ['a', 'b', 'c']);
    await w.serves(['a', 'b', 'c']);
    fs.writeFileSync(path.join(dir, 'd.yaml'), plan('d'));
    await w.serves(['a', 'b', 'c', 'd']);
    expect((await w.ready()).checks.watcher).toMatchObject({ alive: true });
  });

  it('follows a folder swapped in with mv', async () => {
    const root = tempDir();
    const dir = path.join(root, 'flags');
    writeAll(dir, ['a', 'b']);
    const w = await watching(dir);
    writeAll(path.join(root, 'flags.new'), ['a', 'b', 'e']);
    fs.renameSync(dir, path.join(root, 'flags.old'));
    fs.renameSync(path.join(root, 'flags.new'), dir);
    await w.serves(['a', 'b', 'e']);
  });

  it('follows a Kubernetes ConfigMap update (the ..data symlink swap)', async () => {
    const dir = tempDir();
    const version = (name: string, names: string[]) => {
      writeAll(path.join(dir, name), names);
      fs.symlinkSync(name, path.join(dir, '..data_tmp'));
      fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    };
    version('..2026_12_01_10_00_00.1', ['a', 'b']);
    for (const n of ['a', 'b']) fs.symlinkSync(`..data/${n}.yaml`, path.join(dir, `${n}.yaml`));
    const w = await watching(dir);
    await w.serves(['a', 'b']);
    // As the kubelet does: the new version's folder, the ..data swap, then the link for the new key.
    version('..2026_12_01_10_05_00.2', ['a', 'b', 'f']);
    fs.symlinkSync('..data/f.yaml', path.join(dir, 'f.yaml'));
    await w.serves(['a', 'b', 'f']);
    // An edit only: every link stays, the target they resolve to changes.
    writeAll(path.join(dir, '..2026_12_01_10_10_00.3'), ['a', 'b', 'f']);
    fs.writeFileSync(
      path.join(dir, '..2026_12_01_10_10_00.3', 'f.yaml'),
      plan('f').replace('enabled: true', 'enabled: false'),
    );
    fs.symlinkSync('..2026_12_01_10_10_00.3', path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    for (let i = 0; i < 100 && w.rg.controller.requireFlag('f').state.enabled; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(w.rg.controller.requireFlag('f').state.enabled).toBe(false);
  });
});
