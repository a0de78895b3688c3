// Fold states as stored rows: one per (flag, stream), JSON that keeps ±Infinity; written on the serving thread from what the assessment thread folded.
import type { SqlDb } from '../db/sql.ts';
import type { FlagFold } from './assess.ts';
import type { SegmentFolds, SegmentStream } from './segments.ts';

export interface FoldRow {
  flag: string;
  /** An opaque stream key (a guardrail's or a segment's), or '*' for the flag's own totals. */
  stream: string;
  validKey: string;
  foldedUntil: number;
  state: string;
}

const flagStream = '*';

// JSON has no Infinity: a fold starts at −∞ (no signal yet) and histogram bounds include +∞.
const encode = (value: unknown): string =>
  JSON.stringify(value, (_k, x) =>
    typeof x === 'number' && !Number.isFinite(x) ? { $number: String(x) } : x,
  );
const decode = (text: string): unknown =>
  JSON.parse(text, (_k, x) => (x && typeof x === 'object' && '$number' in x ? Number(x.$number) : x));

export function foldRows(flag: string, fold: FlagFold): FoldRow[] {
  const row = (stream: string, state: unknown): FoldRow => ({
    flag,
    stream,
    validKey: fold.key,
    foldedUntil: fold.foldedUntil,
    state: encode(state),
  });
  const { windowIntervals, lastSignal, stage, segments } = fold;
  // A `by:` plan's segment streams are rows of their own too; the head lists them and what they were folded under.
  const segmentHead = segments
    ? {
        segments: {
          values: segments.values,
          unnamed: segments.unnamed,
          streams: segments.streams.map((s) => s.key),
        },
      }
    : {};
  return [
    row(flagStream, {
      windowIntervals,
      lastSignal,
      stage,
      streams: fold.streams.map((s) => s.key),
      ...segmentHead,
    }),
    ...fold.streams.map((s) => row(s.key, { alpha: s.alpha, fold: s.fold })),
    ...(segments?.streams ?? []).map(({ key, ...s }) => row(key, s)),
  ];
}

/** Folds back from rows; a flag whose rows disagree (key, time, a missing stream) is left out, to fold again. */
export function foldsFromRows(rows: readonly FoldRow[]): Map<string, FlagFold> {
  const byFlag = new Map<string, FoldRow[]>();
  for (const r of rows) byFlag.set(r.flag, [...(byFlag.get(r.flag) ?? []), r]);
  const folds = new Map<string, FlagFold>();
  for (const [flag, flagRows] of byFlag) {
    const head = flagRows.find((r) => r.stream === flagStream);
    if (!head || flagRows.some((r) => r.validKey !== head.validKey || r.foldedUntil !== head.foldedUntil))
      continue;
    const totals = decode(head.state) as Omit<FlagFold, 'key' | 'foldedUntil' | 'streams' | 'segments'> & {
      streams: string[];
      segments?: Omit<SegmentFolds, 'streams'> & { streams: string[] };
    };
    const stream = <T>(key: string): (T & { key: string }) | null => {
      const r = flagRows.find((x) => x.stream === key);
      return r ? { key, ...(decode(r.state) as T) } : null;
    };
    const streams = totals.streams.map((key) => stream<Omit<FlagFold['streams'][number], 'key'>>(key));
    const segmentStreams = (totals.segments?.streams ?? []).map((key) =>
      stream<Omit<SegmentStream, 'key'>>(key),
    );
    if (streams.some((s) => s === null) || segmentStreams.some((s) => s === null)) continue;
    folds.set(flag, {
      key: head.validKey,
      foldedUntil: head.foldedUntil,
      streams: streams as FlagFold['streams'],
      windowIntervals: totals.windowIntervals,
      lastSignal: totals.lastSignal,
      stage: totals.stage,
      ...(totals.segments
        ? {
            segments: {
              values: totals.segments.values,
              unnamed: totals.segments.unnamed,
              streams: segmentStreams as SegmentStream[],
            },
          }
        : {}),
    });
  }
  return folds;
}

export type FoldStore = ReturnType<typeof createFoldStore>;

export function createFoldStore(db: SqlDb) {
  const all = db.prepare<[], FoldRow>(
    'SELECT flag, stream, valid_key AS "validKey", folded_until AS "foldedUntil", state FROM fold_state',
  );
  const clear = db.prepare('DELETE FROM fold_state WHERE flag = ?');
  const insert = db.prepare(
    'INSERT INTO fold_state (flag, stream, valid_key, folded_until, state, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const save = db.transaction((rows: readonly FoldRow[], now: number) => {
    // A flag's rows are replaced whole: a plan change may drop or add streams.
    for (const flag of new Set(rows.map((r) => r.flag))) clear.run(flag);
    for (const r of rows) insert.run(r.flag, r.stream, r.validKey, r.foldedUntil, r.state, now);
  });
  return {
    load: (): FoldRow[] => all.all(),
    save(rows: readonly FoldRow[], now: number): void {
      if (rows.length) save(rows, now);
    },
  };
}
