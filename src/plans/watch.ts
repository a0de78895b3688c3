// Watches the plans folder through real deployments (delete and recreate, mv swaps, ConfigMap symlink swaps) and calls back once per settled change.
import fs from 'node:fs';
import path from 'node:path';

export interface WatcherStatus {
  /** False when the watcher has stopped checking (its loop died): plan edits would go unnoticed. */
  alive: boolean;
  /** 'watch+poll' while fs.watch works on the folder; 'poll' while only the periodic check does. */
  mode: 'watch+poll' | 'poll';
  lastCheckAt: number | null;
  lastError: string | null;
}

export interface PlanWatcher {
  stop(): void;
  status(): WatcherStatus;
}

export interface WatchOptions {
  debounceMs?: number;
  /** How often the folder is checked even when fs.watch is silent (it goes deaf when the folder is replaced). */
  pollMs?: number;
  now?: () => number;
}

/**
 * What a reload would read, cheaply: the folder's identity and each plan file's identity, size and mtime, with
 * symlinks followed (a ConfigMap's `foo.yaml -> ..data/foo.yaml` changes target when `..data` is swapped).
 */
export function folderFingerprint(dir: string): string {
  let entries: string[];
  let self: fs.Stats;
  try {
    self = fs.statSync(dir);
    entries = fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f) && !f.startsWith('.'))
      .sort();
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  const parts = [`dir:${self.ino}`];
  for (const f of entries) {
    try {
      const st = fs.statSync(path.join(dir, f));
      parts.push(`${f}:${st.ino}:${st.size}:${st.mtimeMs}`);
    } catch (err) {
      parts.push(`${f}:${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  return parts.join('|');
}

/**
 * fs.watch for a prompt reaction, and a periodic fingerprint check that survives what fs.watch does not (the
 * folder deleted, recreated or swapped). Either only schedules a check; the callback runs once the fingerprint
 * changed and then held still for `debounceMs`. Errors are reported and never end the watching.
 */
export function watchPlanDir(
  dir: string,
  onChange: () => void,
  onError: (err: unknown) => void,
  opts: WatchOptions = {},
): PlanWatcher {
  const debounceMs = opts.debounceMs ?? 200;
  const pollMs = opts.pollMs ?? 1000;
  const now = opts.now ?? Date.now;
  let last = folderFingerprint(dir);
  let watcher: fs.FSWatcher | undefined;
  let watchedIno: number | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let lastCheckAt: number | null = now();
  let lastError: string | null = null;
  let stopped = false;

  const report = (err: unknown) => {
    lastError = (err as Error)?.message ?? String(err);
    try {
      onError(err);
    } catch {
      // A failing error handler must not end the watching either.
    }
  };

  const fire = () => {
    debounce = undefined;
    const current = folderFingerprint(dir);
    if (current !== last) {
      // Still moving (an editor or a deploy mid-write): wait for it to hold still.
      last = current;
      debounce = setTimeout(fire, debounceMs);
      return;
    }
    try {
      onChange();
    } catch (err) {
      report(err);
    }
  };

  const check = () => {
    lastCheckAt = now();
    rewatch();
    const current = folderFingerprint(dir);
    if (current === last) return;
    last = current;
    clearTimeout(debounce);
    debounce = setTimeout(fire, debounceMs);
  };

  /** (Re)attaches fs.watch to the folder now at `dir`; a replaced folder has a new inode. */
  function rewatch() {
    let ino: number | undefined;
    try {
      ino = fs.statSync(dir).ino;
    } catch {
      ino = undefined;
    }
    if (watcher && ino === watchedIno) return;
    watcher?.close();
    watcher = undefined;
    watchedIno = ino;
    if (ino === undefined) return;
    try {
      watcher = fs.watch(dir, () => check());
      watcher.on('error', (err) => {
        watcher?.close();
        watcher = undefined;
        report(err);
      });
    } catch (err) {
      report(err);
    }
  }

  rewatch();
  const timer = setInterval(() => {
    try {
      check();
    } catch (err) {
      report(err);
    }
  }, pollMs);
  timer.unref();

  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(debounce);
      watcher?.close();
    },
    status() {
      const alive = !stopped && lastCheckAt !== null && now() - lastCheckAt <= 3 * pollMs + 1000;
      return { alive, mode: watcher ? 'watch+poll' : 'poll', lastCheckAt, lastError };
    },
  };
}
