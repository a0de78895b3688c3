// The dashboard's stylesheet and script, read once from this folder and served by Rollgate itself (no CDN, works offline).
import fs from 'node:fs';

const read = (file: string) => fs.readFileSync(new URL(`./assets/${file}`, import.meta.url), 'utf8');

export const uiAssets: Record<string, { type: string; body: string }> = {
  'ui.css': { type: 'text/css; charset=utf-8', body: read('ui.css') },
  'ui.js': { type: 'text/javascript; charset=utf-8', body: read('ui.js') },
};
