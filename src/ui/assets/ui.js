// Dashboard live updates: rows and the flag page refresh in place from the server's event stream; pages work without this.
(() => {
  if (!('EventSource' in window)) return;
  const status = document.getElementById('live-status');
  const known = new Map();
  for (const row of document.querySelectorAll('tr[data-flag]'))
    known.set(row.dataset.flag, row.dataset.phase);
  const page = document.getElementById('live');
  if (page) known.set(page.dataset.liveFlag, page.querySelector('[data-phase]')?.dataset.phase);

  // Swaps the flag page's live part, keeping a reason someone is typing.
  const refresh = async (name) => {
    const res = await fetch(`/ui/flags/${encodeURIComponent(name)}/live`, { credentials: 'same-origin' });
    if (!res.ok) return;
    const holder = document.createElement('div');
    holder.innerHTML = await res.text();
    const fresh = holder.firstElementChild;
    const current = document.getElementById('live');
    if (!fresh || !current) return;
    const typing = current.querySelector('input[name=reason]');
    const kept = typing ? typing.value : '';
    const focused = typing !== null && document.activeElement === typing;
    current.replaceWith(fresh);
    const reason = fresh.querySelector('input[name=reason]');
    if (reason) {
      reason.value = kept;
      if (focused) reason.focus();
    }
  };

  let queue = Promise.resolve();
  const source = new EventSource('/ui/stream');
  source.addEventListener('ready', () => {
    document.body.dataset.live = 'on';
  });
  source.addEventListener('error', () => {
    document.body.dataset.live = 'off';
  });
  source.addEventListener('flag', (event) => {
    const update = JSON.parse(event.data);
    const row = document.getElementById(`flag-${update.name}`);
    if (row) {
      const body = document.createElement('tbody');
      body.innerHTML = update.row;
      if (body.firstElementChild) row.replaceWith(body.firstElementChild);
    }
    const live = document.getElementById('live');
    if (live && live.dataset.liveFlag === update.name)
      queue = queue.then(() => refresh(update.name)).catch(() => {});
    if (known.has(update.name) && known.get(update.name) !== update.phase && status) {
      status.textContent = `${update.name} is now ${update.phase}, serving ${update.percent} %`;
    }
    known.set(update.name, update.phase);
  });
})();
