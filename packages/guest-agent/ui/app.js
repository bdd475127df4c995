// The guest-agent status page: hosts and instances from the operator API, kept live by its event stream.
// Plain browser JavaScript served as is (no build step, no CDN). The instance table is virtualised: only
// the rows in view exist in the DOM, so 10 000 instances scroll smoothly.
const STATES = ['healthy', 'unhealthy', 'failed', 'waiting-init', 'disconnected', 'not-monitored'];
const ROW_PX = 24;
const $ = (id) => document.getElementById(id);

/** uuid → instance view; hostname → host view. */
const instances = new Map();
const hosts = new Map();
let filtered = [];
let token = '';

function readToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.has('token')) {
    sessionStorage.setItem('guesthb-token', hash.get('token'));
    history.replaceState(null, '', location.pathname + location.search); // keep the token out of the address bar
  }
  token = sessionStorage.getItem('guesthb-token') ?? '';
}

function headers() {
  return token === '' ? {} : { authorization: `Bearer ${token}` };
}

async function getJson(path) {
  const res = await fetch(path, { headers: headers() });
  if (res.status === 401) throw Object.assign(new Error('unauthorized'), { status: 401 });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function stateBadge(state) {
  return el('span', `state s-${state}`, state);
}

function ago(ms) {
  if (ms < 1000) return 'now';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}

function renderHosts() {
  const body = $('hosts').tBodies[0];
  body.replaceChildren();
  const hostFilter = $('host-filter');
  const chosen = hostFilter.value;
  hostFilter.replaceChildren(el('option', '', 'all hosts'));
  hostFilter.firstChild.value = '';
  for (const h of [...hosts.values()].sort((a, b) => a.hostname.localeCompare(b.hostname))) {
    const tr = document.createElement('tr');
    tr.dataset.hostname = h.hostname;
    const server = h.server === null ? el('td', 'unreachable', 'not registered')
      : el('td', h.server.reachable ? '' : 'unreachable', `${h.server.url}${h.server.reachable ? '' : ' (unreachable)'}`);
    const states = el('td');
    for (const s of STATES) if (h.states[s] > 0) states.append(stateBadge(`${s}`), ` ${h.states[s]} `);
    tr.append(el('td', '', h.hostname), el('td', '', h.uuid ?? '—'), el('td', '', h.reporting ? 'enabled' : 'disabled'), server,
      el('td', '', h.server === null ? '—' : ago(h.server.lastContactAgoMs)), el('td', '', String(h.instances)), states);
    body.append(tr);
    const opt = el('option', '', h.hostname);
    opt.value = h.hostname;
    hostFilter.append(opt);
  }
  hostFilter.value = chosen;
}

function matches(inst, text, state, host) {
  if (state !== '' && inst.state !== state) return false;
  if (host !== '' && inst.hostname !== host) return false;
  if (text === '') return true;
  return inst.uuid.includes(text) || inst.hostname.toLowerCase().includes(text) || (inst.name ?? '').toLowerCase().includes(text);
}

function applyFilter() {
  const text = $('search').value.trim().toLowerCase();
  const state = $('state-filter').value;
  const host = $('host-filter').value;
  filtered = [...instances.values()].filter((i) => matches(i, text, state, host));
  filtered.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.uuid.localeCompare(b.uuid));
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const i of instances.values()) counts[i.state]++;
  const countsEl = $('state-counts');
  countsEl.replaceChildren();
  for (const s of STATES) {
    const badge = stateBadge(`${s} ${counts[s]}`);
    badge.className = `state s-${s}`;
    badge.title = `show only ${s}`;
    badge.onclick = () => { $('state-filter').value = $('state-filter').value === s ? '' : s; $('viewport').scrollTop = 0; applyFilter(); };
    countsEl.append(badge);
  }
  $('count').textContent = `${filtered.length} of ${instances.size}`;
  $('spacer').style.height = `${filtered.length * ROW_PX}px`;
  renderRows();
}

function renderRows() {
  const viewport = $('viewport');
  const visible = Math.ceil(viewport.clientHeight / ROW_PX);
  // Clamp: after the list shrinks, scrollTop may still point past its end.
  const top = Math.min(Math.floor(viewport.scrollTop / ROW_PX), Math.max(0, filtered.length - visible));
  const first = Math.max(0, top - 5);
  const last = Math.min(filtered.length, top + visible + 5);
  const rows = $('rows');
  rows.style.top = `${first * ROW_PX}px`;
  const out = [];
  for (let n = first; n < last; n++) {
    const i = filtered[n];
    const row = el('div', 'row');
    row.dataset.uuid = i.uuid;
    row.dataset.state = i.state;
    const state = el('span', 'c-state');
    state.append(stateBadge(i.state));
    const event = i.lastEvent === null ? '' : `${new Date(i.lastEvent.atMs).toLocaleTimeString()} ${i.lastEvent.kind}: ${i.lastEvent.detail}`;
    // Issue 16: why the guest last went silent, as its host saw it (hover the row).
    if (i.corroboration !== undefined) row.title = corroborationText(i.corroboration);
    row.append(el('span', 'c-uuid', i.uuid), el('span', 'c-name', i.name ?? '—'), el('span', 'c-host', i.hostname), state,
      el('span', 'c-flags', `${i.reporting ? 'on' : 'off'} / ${i.heartbeating ? 'running' : 'stopped'}`), el('span', 'c-action', i.correctiveAction),
      el('span', 'c-int', i.intervalMs === null ? '—' : `${i.intervalMs} ms`), el('span', 'c-rtt', i.lastRttMs === null ? '—' : `${i.lastRttMs.toFixed(2)} ms`),
      el('span', 'c-miss', i.misses === null ? '—' : String(i.misses)), el('span', 'c-event', event));
    out.push(row);
  }
  rows.replaceChildren(...out);
}

function corroborationText(c) {
  const e = c.evidence;
  const numbers = [e.pid === undefined ? 'no QEMU process found' : `QEMU pid ${e.pid} (${e.processState ?? '?'})`, `${e.vcpus} vCPU`,
    e.cpuPct === undefined ? null : `cpu ${e.cpuPct} %`, e.waitPct === undefined ? null : `wait ${e.waitPct} %`,
    e.slices === undefined ? null : `${e.slices} slices`, `over ${Math.round(e.windowMs)} ms`].filter((x) => x !== null).join(', ');
  const rounds = c.rounds.map((r) => (r.rttMs === null ? 'miss' : `${r.rttMs}`)).join(' ');
  return `${c.report} at ${new Date(c.atMs).toLocaleTimeString()}: ${c.class}\n${numbers}${c.deferredMs === undefined ? '' : `\nheld ${c.deferredMs} ms (host starved)`}`
    + `\nlast round trips (ms): ${rounds}${c.lastLogMsg === undefined ? '' : `\nguest log: ${c.lastLogMsg}`}`;
}

let redraw = 0;
function scheduleRender() {
  if (redraw !== 0) return;
  // A timer, not requestAnimationFrame: frames may be throttled (hidden tab, headless), updates must not be.
  redraw = setTimeout(() => { redraw = 0; applyFilter(); renderHosts(); }, 50);
}

function onMessage(type, data) {
  const m = JSON.parse(data);
  if (type === 'instance') instances.set(m.instance.uuid, m.instance);
  else if (type === 'instance-removed') instances.delete(m.uuid);
  else if (type === 'host') hosts.set(m.host.hostname, m.host);
  else return;
  scheduleRender();
}

/** Server-Sent Events over fetch (EventSource cannot send the Authorization header). */
async function stream() {
  const res = await fetch('/v1/operator/events', { headers: headers(), cache: 'no-store' });
  if (res.status === 401) throw Object.assign(new Error('unauthorized'), { status: 401 });
  if (!res.ok || res.body === null) throw new Error(`event stream: HTTP ${res.status}`);
  setConn(true);
  await load(); // after subscribing, so no change between the two is missed
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onMessage(type, data.join('\n'));
    }
  }
}

async function load() {
  const [h, i] = await Promise.all([getJson('/v1/operator/hosts'), getJson('/v1/operator/instances')]);
  hosts.clear();
  for (const host of h.hosts) hosts.set(host.hostname, host);
  instances.clear();
  for (const inst of i.instances) instances.set(inst.uuid, inst);
  $('outbox').textContent = `VIM outbox: ${h.vimOutboxDepth}`;
  scheduleRender();
}

function setConn(up) {
  $('conn').className = `conn ${up ? 'up' : 'down'}`;
  $('conn').textContent = up ? 'live' : 'reconnecting…';
}

async function run() {
  for (;;) {
    try {
      await stream();
    } catch (err) {
      if (err.status === 401) { askToken(); return; }
    }
    setConn(false);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function askToken() {
  setConn(false);
  $('auth').hidden = false;
  $('auth-msg').textContent = token === '' ? 'this agent requires its bearer token' : 'token refused';
}

function init() {
  readToken();
  for (const s of STATES) {
    const opt = el('option', '', s);
    opt.value = s;
    $('state-filter').append(opt);
  }
  // A new filter starts at the top of its list; live updates keep the scroll position.
  const refilter = () => { $('viewport').scrollTop = 0; applyFilter(); };
  $('search').addEventListener('input', refilter);
  $('state-filter').addEventListener('change', refilter);
  $('host-filter').addEventListener('change', refilter);
  $('viewport').addEventListener('scroll', renderRows, { passive: true });
  window.addEventListener('resize', renderRows);
  $('auth-form').addEventListener('submit', (e) => {
    e.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('guesthb-token', token);
    $('auth').hidden = true;
    void run();
  });
  // Host "last contact" ages move on even without events.
  setInterval(() => { getJson('/v1/operator/hosts').then((h) => { for (const host of h.hosts) hosts.set(host.hostname, host); $('outbox').textContent = `VIM outbox: ${h.vimOutboxDepth}`; renderHosts(); }, () => {}); }, 5000);
  void run();
}

init();
