import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundledFlagsDir, makeFlagsDir } from '../helpers/rollgate.ts';

const bin = path.resolve(import.meta.dirname, '../../src/cli/bin.mjs');
const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('rollgate validate', () => {
  it('exits 0 and lists the plans of a valid folder', async () => {
    const r = await run(['validate', bundledFlagsDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 plan(s) valid');
    expect(r.stdout).toContain('queue.async-tasks (queue.async-tasks.yaml)');
  });

  it('exits 1 printing each problem as file: path: reason', async () => {
    const dir = makeFlagsDir([], {
      'a.yaml': 'name: a\ndescription: d\nowner: o\ntype: release\nrollout:\n  stages: [{ percent: 50 }]\n',
      'b.yaml': 'name: b\ndescription: d\nowner: o\ntype: nonsense\n',
    });
    const r = await run(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'a.yaml: rollout.stages[0].percent: the last stage must be 100',
      'b.yaml: type: Invalid option: expected one of "release"|"experiment"|"operational"|"kill-switch"',
    ]);
  });

  it('prints JSON for CI tools with --format json', async () => {
    const dir = makeFlagsDir([], { 'a.yaml': 'name: a\n' });
    const r = await run(['validate', '--format', 'json', dir]);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout);
    expect(body.valid).toBe(false);
    expect(body.problems[0]).toEqual({
      file: 'a.yaml',
      path: 'description',
      reason: 'Invalid input: expected string, received undefined',
    });
    const ok = JSON.parse((await run(['validate', '--format', 'json', bundledFlagsDir])).stdout);
    expect(ok.flags.map((f: { name: string }) => f.name)).toContain('schema.ai-model');
  });

  it('exits 2 with usage on an unknown command or format', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect((await run(['validate', '--format', 'xml', bundledFlagsDir])).code).toBe(2);
  });

  it('checks a single file, its dependencies against the rest of its folder', async () => {
    const ok = await run(['validate', path.join(bundledFlagsDir, 'queue.async-tasks.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('1 plan(s) valid');
    const dir = makeFlagsDir([], {
      'child.yaml':
        'name: child\ndescription: d\nowner: o\ntype: release\ndependencies: [{ flag: parent }]\n',
    });
    const bad = await run(['validate', path.join(dir, 'child.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('child.yaml: dependencies[0].flag: depends on unknown flag "parent"');
  });

  it('exits 1 on an empty folder, an alias bomb and a file that is not a plan — never a stack trace', async () => {
    const empty = await run(['validate', makeFlagsDir()]);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toContain('no plan files');
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [n, prev] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      const p = 'abcdefghi'[n];
      laughs.push(`${prev}: &${prev} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    const dir = makeFlagsDir([], {
      'bomb.yaml': `${laughs.join('\n')}\n`,
      'list.yaml': '- just\n- a list\n',
    });
    const r = await run(['validate', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/bomb\.yaml: \(root\): not a plan: .*alias/i);
    expect(r.stdout).toContain('list.yaml: (root)');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
