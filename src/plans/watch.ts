// Watches the plans folder and calls back once per burst of changes (editors write files in several steps).
import fs from 'node:fs';

export function watchPlanDir(
  dir: string,
  onChange: () => void,
  onError: (err: unknown) => void,
  debounceMs = 200,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  // A reload that throws, or a watcher that fails (the folder removed), must never take the process down.
  const run = () => {
    try {
      onChange();
    } catch (err) {
      onError(err);
    }
  };
  const watcher = fs.watch(dir, (_event, file) => {
    if (file && !/\.ya?ml$/.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
  });
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
