// Watches the plans folder and calls back once per burst of changes (editors write files in several steps).
import fs from 'node:fs';

export function watchPlanDir(dir: string, onChange: () => void, debounceMs = 200): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher = fs.watch(dir, (_event, file) => {
    if (file && !/\.ya?ml$/.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
