import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.ts';
import { tempDir } from '../helpers/rollgate.ts';

const dir = path.resolve(import.meta.dirname, '../fixtures/replay');
const planFile = path.join(dir, 'plan.yaml');
const signalsFile = path.join(dir, 'signals.ndjson');

/** The decision fields the golden file pins; reasons and evidence carry detector numbers and are checked loosely. */
function project(line: string) {
  const o = JSON.parse(line);
  if (o.summary) return o;
  return {
    at: o.at,
    action: o.action,
    stage: o.stage,
    phase: o.phase,
    toStage: o.toStage,
    percent: o.percent,
    guardrail: o.guardrail,
  };
}

describe('rollgate replay', () => {
  it('replays the recorded incident to the same decisions as the golden file', () => {
    const lines: string[] = [];
    const result = runReplay({ planFile, signalsFile, out: (l) => lines.push(l) });
    expect(result.ok).toBe(true);
    const expected = fs
      .readFileSync(path.join(dir, 'expected.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map(project)).toEqual(expected);

    const rollback = JSON.parse(lines.at(-2) as string);
    expect(rollback.reason).toMatch(
      /^errors \(relative\): errors [\d.]+ % in treatment against [\d.]+ % in control \([\d.]+×\), .*; rolled back from 100 %$/,
    );
    expect(rollback.evidence).toMatchObject({ guardrail: 'errors (relative)', status: 'regressed' });
  });

  it('reports every bad line of the signals file with its line number and runs nothing', () => {
    const bad = path.join(tempDir(), 'bad.ndjson');
    const good = fs.readFileSync(signalsFile, 'utf8').split('\n')[0];
    fs.writeFileSync(bad, `${good}\n{"flag":"replay.queue","arm":"control","requests":1}\nnot json\n`);
    const lines: string[] = [];
    const result = runReplay({ planFile, signalsFile: bad, out: (l) => lines.push(l) });
    expect(result).toEqual({
      ok: false,
      problems: [`${bad}:2: at: is required`, expect.stringMatching(new RegExp(`^${bad}:3: not JSON: `))],
    });
    expect(lines).toEqual([]);
  });
});
