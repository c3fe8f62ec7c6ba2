// cortex-emu dashboard: a hand-written single-page app over the admin API (/_emulator/v1).
// No framework and no build step: the three files are embedded in the binary as they are.
// Every piece of data reaches the page through textContent (never innerHTML), so a tool's
// output can never become markup.
'use strict';

const API = '/_emulator/v1';
const SHOW_LIMIT = 64 * 1024;      // characters shown before "show all"
const PRETTY_LIMIT = 1024 * 1024;  // larger texts are not pretty-printed (parsing would stall)
const MAX_TAIL_ROWS = 500;         // the live tail forgets older rows past this
const TOKEN_KEY = 'cortex-emu-admin-token';

// ---------------------------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------------------------

/** el('button', {id: 'x', onclick: f}, 'text', child): attributes, handlers and children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'value') node.value = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const $ = (sel, root = document) => root.querySelector(sel);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A time in the viewer's zone, with the ISO value on hover. */
function timeEl(iso) {
  if (!iso) return el('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return el('time', { datetime: iso, title: iso }, isNaN(d) ? iso : d.toLocaleString());
}

function fmtSize(chars) {
  if (chars >= 1024 * 1024) return `${(chars / (1024 * 1024)).toFixed(1)} MB`;
  if (chars >= 1024) return `${(chars / 1024).toFixed(1)} KB`;
  return `${chars} B`;
}

const shortHash = (h) => (h ? String(h).slice(0, 12) : '—');

function statusBadge(status) {
  return el('span', { class: `badge st-${status}`, 'data-testid': 'status-badge' }, status);
}

/** A table from column titles and rows of cells (strings or nodes). */
function table(columns, rows, attrs = {}) {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c)))),
    el('tbody', {}, rows));
}

function section(title, ...children) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...children);
}

/**
 * A text shown in a <pre>: only the first 64 KB at once (a 6 MB body would freeze the page),
 * with a button to show the rest.
 */
function textBlock(text, testid, cls = 'code') {
  text = text ?? '';
  const pre = el('pre', { class: cls, 'data-testid': testid, tabindex: 0 });
  const wrap = el('div', { class: 'block' }, pre);
  if (text.length <= SHOW_LIMIT) {
    pre.textContent = text;
  } else {
    pre.textContent = text.slice(0, SHOW_LIMIT);
    const btn = el('button', { type: 'button', class: 'link', 'data-testid': `${testid}-show-all` },
      `show all (${fmtSize(text.length)})`);
    btn.addEventListener('click', () => { pre.textContent = text; btn.remove(); });
    wrap.append(btn);
  }
  return wrap;
}

/** The value of a JSON text, or undefined (not JSON, or too big to parse on the page). */
function parseJson(text) {
  if (typeof text !== 'string' || text.length > PRETTY_LIMIT) return undefined;
  try { return JSON.parse(text); } catch { return undefined; }
}

/** Raw text, its pretty form when JSON, and the envelope's inner `body` decoded when JSON. */
function responseView(raw, prefix) {
  const parts = [el('h3', {}, 'Raw'), textBlock(raw, `${prefix}-raw`)];
  const value = parseJson(raw);
  if (value !== undefined) {
    parts.push(el('h3', {}, 'Pretty'), textBlock(JSON.stringify(value, null, 2), `${prefix}-pretty`));
    const inner = value && typeof value.body === 'string' ? parseJson(value.body) : undefined;
    if (inner !== undefined) {
      parts.push(el('h3', {}, 'Envelope body, decoded'),
        textBlock(JSON.stringify(inner, null, 2), `${prefix}-inner`));
    }
  } else if (raw.length > PRETTY_LIMIT) {
    parts.push(el('p', { class: 'muted' }, 'Over 1 MB: not pretty-printed.'));
  }
  return el('div', { class: 'response' }, parts);
}

/** An activation's stored response (the API gives it parsed when it was JSON) as text. */
const asText = (v) => (typeof v === 'string' ? v : JSON.stringify(v ?? null));

/** The exact bytes the client got: `response_text` when the API sends it (`response` is parsed). */
const responseText = (a) => (typeof a.response_text === 'string' ? a.response_text : asText(a.response));

/** A stored event for reading: pretty when it was JSON and not huge, as stored otherwise. */
function prettyValue(v) {
  if (typeof v === 'string') return v || '(none)';
  const compact = asText(v);
  return compact.length > PRETTY_LIMIT ? compact : JSON.stringify(v, null, 2);
}

/** Published versions, newest first (the API does not promise an order). */
function newestFirst(versions = []) {
  const parts = (v) => String(v.version).split('.').map((n) => parseInt(n, 10) || 0);
  return versions.slice().sort((a, b) => {
    const [x, y] = [parts(a), parts(b)];
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
    return 0;
  });
}

function option(value, label, selected) {
  return el('option', { value, selected: selected || undefined }, label ?? value);
}

// ---------------------------------------------------------------------------------------------
// Errors: a dismissable banner per failed call
// ---------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, text) {
    super(`HTTP ${status}`);
    this.status = status;
    this.text = text;
    this.data = parseJson(text);
  }
}

function showBanner(title, text) {
  const banner = el('div', { class: 'banner', 'data-testid': 'error-banner' },
    el('strong', {}, title),
    el('pre', { class: 'banner-text', 'data-testid': 'error-text' }, text),
    el('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', 'data-testid': 'error-dismiss',
      onclick: () => banner.remove() }, '×'));
  $('#banners').prepend(banner);
}

// Handlers are async: an unhandled failure still reaches the user instead of the console.
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason instanceof ApiError || e.reason?.name === 'AbortError') { e.preventDefault(); return; } // already shown
  showBanner('Error', String(e.reason?.message ?? e.reason));
});

// ---------------------------------------------------------------------------------------------
// Auth and API calls
// ---------------------------------------------------------------------------------------------

let token = sessionStorage.getItem(TOKEN_KEY);

/** `#token=...` (from the banner's link) wins; it leaves the visible URL and history at once. */
function takeTokenFromUrl() {
  const m = location.hash.match(/^#token=([^&]*)/);
  if (!m) return;
  token = decodeURIComponent(m[1]);
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', `${location.pathname}${location.search}#/tools`);
}

function showLogin(message = '') {
  const dlg = $('#login');
  $('#login-message').textContent = message;
  if (!dlg.open) dlg.showModal();
  $('#login-token').focus();
}

$('#login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('#login-token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  $('#login-token').value = '';
  $('#login').close();
  render();
});
// The prompt must not be dismissed with Escape into a page that cannot load.
$('#login').addEventListener('cancel', (e) => e.preventDefault());
$('#logout-btn').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  showLogin();
});

const authHeaders = () => ({ Authorization: `Bearer ${token}` });

/**
 * One admin call. Failures show a banner (unless `quiet`: the caller renders the answer itself)
 * and throw an ApiError; a 401 brings the token prompt back.
 */
async function api(method, path, body, { quiet = false, base = API } = {}) {
  let res;
  try {
    res = await fetch(base + path, {
      method,
      headers: { ...authHeaders(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    showBanner('Network error', `${method} ${path}: ${e.message} (is the emulator running?)`);
    throw new ApiError(0, e.message);
  }
  const text = await res.text();
  if (res.status === 401) {
    showLogin('The emulator refused that token (401).');
    throw new ApiError(401, text);
  }
  if (!res.ok) {
    if (!quiet) showBanner(`${method} ${path}: HTTP ${res.status}`, text);
    throw new ApiError(res.status, text);
  }
  // The API's own answers are parsed whatever their size (an activation with a 6 MB body is
  // 12 MB of JSON); only display code applies the pretty-print limit.
  try { return JSON.parse(text); } catch { return {}; }
}

const get = (path, opts) => api('GET', path, undefined, opts);
const post = (path, body = {}, opts) => api('POST', path, body, opts);
const del = (path, opts) => api('DELETE', path, undefined, opts);
const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// Lists other pages' selects need; fetched once per visit to the page.
const listTools = async () => (await get('/tools')).tools ?? [];
const listOrgs = async () => (await get('/organizations')).organizations ?? [];

// ---------------------------------------------------------------------------------------------
// Router: one page per hash route; leaving a page aborts what it started (the live tail)
// ---------------------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/tools\/?$/, 'tools', toolsPage],
  [/^#\/tools\/(.+)$/, 'tools', toolPage],
  [/^#\/activations\/?$/, 'activations', activationsPage],
  [/^#\/activations\/(.+)$/, 'activations', activationPage],
  [/^#\/wallet\/?$/, 'wallet', walletPage],
  [/^#\/keys\/?$/, 'keys', keysPage],
  [/^#\/faults\/?$/, 'faults', faultsPage],
  [/^#\/clock\/?$/, 'clock', clockPage],
  [/^#\/planes\/?$/, 'planes', planesPage],
];

let pageAbort = new AbortController();

function render() {
  pageAbort.abort();
  pageAbort = new AbortController();
  if (!token) { showLogin(); return; }
  const hash = location.hash || '#/tools';
  const found = ROUTES.find(([re]) => re.test(hash));
  if (!found) { location.replace('#/tools'); return; }
  const [re, nav, page] = found;
  const params = hash.match(re).slice(1).map(decodeURIComponent);
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.id === `nav-${nav}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // A fresh container per visit: a late answer for the previous page lands in a detached node.
  const view = el('div', { class: 'page', 'data-page': nav });
  $('#main').replaceChildren(view);
  // A new page starts at its top, not where the previous one was scrolled to.
  window.scrollTo(0, 0);
  page(view, pageAbort.signal, ...params);
}

window.addEventListener('hashchange', render);

// ---------------------------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------------------------

async function toolsPage(view) {
  view.append(el('h1', {}, 'Tools'));
  const [list, health] = await Promise.all([get('/tools'), get('/health', { base: '/_emulator' })]);
  const problems = [...(health.problems ?? [])];
  // A problem names its folder by its last component (the tool's folder is a full path).
  const problemsOf = (t) => problems.filter((p) => p.folder === t.folder || t.folder.split(/[\\/]/).pop() === p.folder);
  const orphan = problems.filter((p) => !(list.tools ?? []).some((t) => problemsOf(t).includes(p)));
  if (orphan.length) {
    view.append(section('Folders that do not load',
      el('ul', { 'data-testid': 'orphan-problems' }, orphan.map((p) => el('li', {}, el('code', {}, p.folder), ': ', p.message)))));
  }
  const rows = (list.tools ?? []).map((t) => {
    const last = newestFirst(t.versions)[0];
    // Published, and whether the draft has moved on since the latest version.
    const state = !last ? 'draft only' : last.code_hash === t.draft_code_hash ? 'published' : 'published, draft changed';
    const probs = problemsOf(t);
    const lastRun = el('td', { 'data-testid': 'tool-last-run' }, el('span', { class: 'muted' }, '…'));
    fillLastRun(t.id, lastRun);
    return el('tr', { 'data-testid': 'tool-row', 'data-id': t.id },
      el('td', {}, el('a', { href: `#/tools/${enc(t.id)}`, 'data-testid': 'tool-link' }, t.id)),
      el('td', {}, t.name),
      el('td', {}, t.runtime),
      el('td', {}, last ? last.version : 'draft'),
      el('td', {}, state),
      el('td', { class: probs.length ? 'error' : 'muted' },
        probs.length ? probs.map((p) => p.message).join('; ') : 'none'),
      lastRun);
  });
  view.append(el('div', { class: 'card' }, table(
    ['Tool', 'Name', 'Runtime', 'Latest', 'State', 'Problems', 'Last run'], rows,
    { id: 'tools-table', class: 'grid' })));
}

async function fillLastRun(id, cell) {
  const { activations = [] } = await get(`/activations${query({ tool: id, limit: 1 })}`);
  const a = activations[0];
  cell.replaceChildren(a
    ? el('a', { href: `#/activations/${enc(a.id)}` }, timeEl(a.started_at), ' ', statusBadge(a.status))
    : el('span', { class: 'muted' }, 'never'));
}

// ---------------------------------------------------------------------------------------------
// One tool: invoke, test cases, publish
// ---------------------------------------------------------------------------------------------

async function toolPage(view, signal, id) {
  const { tool, test_cases: cases = [], problem, test_cases_error: casesError } = await get(`/tools/${enc(id)}`);
  view.append(el('p', {}, el('a', { href: '#/tools' }, '← Tools')),
    el('h1', { 'data-testid': 'tool-title' }, tool.name, ' ', el('code', { class: 'muted' }, tool.id)),
    el('dl', { class: 'meta' },
      ...meta('Runtime', tool.runtime), ...meta('Type', tool.type), ...meta('Organization', tool.organization),
      ...meta('Visibility', tool.visibility),
      ...meta('Draft code hash', el('code', { title: tool.draft_code_hash }, shortHash(tool.draft_code_hash))),
      ...meta('Folder', el('code', {}, tool.folder))));
  // A broken save keeps the last good code in force; say so above everything else.
  if (problem) view.append(el('p', { class: 'error', 'data-testid': 'tool-problem' }, `Last save does not load: ${problem}`));
  if (casesError) view.append(el('p', { class: 'error', 'data-testid': 'cases-error' }, `Test cases: ${casesError}`));
  view.append(invokeCard(tool, cases), testCard(tool), publishCard(tool));
}

function meta(label, value) {
  return [el('dt', {}, label), el('dd', {}, value ?? '—')];
}

function invokeCard(tool, cases) {
  const caseSelect = el('select', { id: 'case-select' },
    cases.length ? cases.map((c, i) => el('option', { value: String(i), title: c.description }, c.name)) : option('', 'no test cases'));
  const versionSelect = el('select', { id: 'version-select' }, option('draft', 'draft'),
    newestFirst(tool.versions).map((v) => option(v.version)));
  const editor = el('textarea', { id: 'event-editor', rows: 10, spellcheck: 'false', 'aria-describedby': 'event-error' });
  const error = el('p', { id: 'event-error', class: 'error', 'data-testid': 'event-error', 'aria-live': 'polite' });
  const result = el('div', { id: 'invoke-result', 'aria-live': 'polite' });
  const fill = () => {
    const c = cases[Number(caseSelect.value)];
    editor.value = JSON.stringify(c ? c.event : {}, null, 2);
  };
  caseSelect.addEventListener('change', fill);
  fill();
  const button = el('button', { id: 'invoke-btn', type: 'submit', class: 'primary' }, 'Invoke');
  const form = el('form', { class: 'stack' },
    el('div', { class: 'row' },
      el('label', {}, 'Test case ', caseSelect), el('label', {}, 'Version ', versionSelect)),
    el('label', { for: 'event-editor' }, 'Event (JSON)'), editor, error,
    el('div', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let event;
    try { event = JSON.parse(editor.value); } catch (err) {
      error.textContent = `Not JSON: ${err.message}`;  // nothing is sent
      editor.focus();
      return;
    }
    error.textContent = '';
    button.disabled = true;
    result.replaceChildren(el('p', { class: 'muted' }, 'Running…'));
    try {
      const r = await post(`/tools/${enc(tool.id)}/invoke`, { event, version: versionSelect.value });
      showInvokeResult(result, r);
    } catch (err) {
      result.replaceChildren(el('p', { class: 'error' }, 'The call failed: see the banner above.'));
      throw err;
    } finally { button.disabled = false; }
  });
  return section('Invoke', el('div', { class: 'two' }, form, result));
}

async function showInvokeResult(box, r) {
  const body = r.body ?? '';
  const logs = el('div', { 'data-testid': 'invoke-logs-box' },
    el('p', { class: 'muted' }, r.activation_id ? 'Loading logs…' : 'No activation recorded.'));
  const status = el('span', { 'data-testid': 'invoke-status', 'data-status': r.status, class: `http http-${String(r.status)[0]}xx` },
    `HTTP ${r.status}`);
  const link = r.activation_id && el('a', { href: `#/activations/${enc(r.activation_id)}`, 'data-testid': 'invoke-activation-link' },
    `activation ${r.activation_id}`);
  const fault = r.fault && el('span', { class: 'badge injected', 'data-testid': 'invoke-fault' }, `forced by ${r.fault}`);
  box.replaceChildren(el('p', { class: 'status-line' }, status, fault ? [' ', fault] : null, link ? [' · ', link] : null),
    responseView(body, 'invoke'), el('h3', {}, 'Logs'), logs);
  if (!r.activation_id) return;
  const a = await get(`/activations/${enc(r.activation_id)}`);
  logs.replaceChildren(textBlock(a.logs || '(no logs)', 'invoke-logs', 'code logs'),
    el('p', { class: 'muted' }, `${a.duration_ms} ms · cost ${a.cost} · version ${a.version}`),
    ...(a.error ? [el('p', { class: 'error', 'data-testid': 'invoke-error' }, a.error)] : []));
}

function testCard(tool) {
  const out = el('div', { id: 'test-result', 'aria-live': 'polite' });
  const button = el('button', { id: 'test-btn', type: 'button' }, 'Run test cases');
  button.addEventListener('click', async () => {
    button.disabled = true;
    out.replaceChildren(el('p', { class: 'muted' }, 'Running…'));
    try {
      const r = await post(`/tools/${enc(tool.id)}/test`, {});
      const item = (c) => el('li', { class: c.passed ? 'pass' : 'fail', 'data-testid': 'test-case' },
        el('strong', {}, c.passed ? '✓ ' : '✗ ', c.name), c.duration_ms != null ? el('span', { class: 'muted' }, ` ${c.duration_ms} ms`) : null,
        c.message ? textBlock(c.message, 'test-message') : null);
      out.replaceChildren(el('p', { 'data-testid': 'test-summary' }, `${r.passed} passed, ${r.failed} failed`),
        el('ul', { class: 'cases' }, (r.cases ?? []).map(item)));
    } catch (err) {
      out.replaceChildren();
      throw err;
    } finally { button.disabled = false; }
  });
  return section('Test cases', el('div', { class: 'actions' }, button), out);
}

function publishCard(tool) {
  const versions = el('ul', { id: 'versions-list' });
  const item = (v) => el('li', {}, el('strong', {}, v.version), ' ',
    el('code', { title: v.code_hash }, shortHash(v.code_hash)), ' · ', v.visibility ?? '', ' · ', timeEl(v.created_at));
  const renderVersions = (list) => versions.replaceChildren(...(list.length
    ? newestFirst(list).map(item) : [el('li', { class: 'muted' }, 'Nothing published yet.')]));
  renderVersions(tool.versions ?? []);
  const bump = el('select', { id: 'bump-select' }, option('patch'), option('minor'), option('major'));
  const out = el('div', { id: 'publish-result', 'aria-live': 'polite' });
  const button = el('button', { id: 'publish-btn', type: 'button' }, 'Publish draft');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const p = await post(`/tools/${enc(tool.id)}/publish`, { bump: bump.value }, { quiet: true });
      out.replaceChildren(el('p', { class: 'ok', 'data-testid': 'publish-ok' },
        `Published ${p.tool}@${p.version} (${p.cases_passed} test cases passed).`));
      const t = (await listTools()).find((x) => x.id === tool.id);
      if (t) renderVersions(t.versions ?? []);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 401 || e.status === 0) throw e;
      // The gate's answer: which test cases failed and how.
      const d = e.data ?? {};
      const failure = (f) => el('div', { class: 'failure', 'data-testid': 'publish-failure' }, el('strong', {}, f.case),
        textBlock(typeof f.diff === 'string' ? f.diff : JSON.stringify(f.diff, null, 2), 'publish-diff'));
      out.replaceChildren(el('p', { class: 'error', 'data-testid': 'publish-error' }, `HTTP ${e.status}: ${d.error ?? e.text}`),
        ...(d.failures ?? []).map(failure));
    } finally { button.disabled = false; }
  });
  return section('Publish', el('div', { class: 'row' }, el('label', {}, 'Bump ', bump), button), out,
    el('h3', {}, 'Versions'), versions);
}

// ---------------------------------------------------------------------------------------------
// Activations: filtered list plus the live tail
// ---------------------------------------------------------------------------------------------

// Kept across visits, so coming back from a detail shows the same filtered list.
const actFilters = { tool: '', status: '', organization: '', since: '' };

async function activationsPage(view, signal) {
  view.append(el('h1', {}, 'Activations'));
  const tail = el('span', { 'data-testid': 'tail-status', 'data-state': 'connecting', class: 'tail' }, 'connecting…');
  const filters = filterForm();
  const tbody = el('tbody', { id: 'activations-body' });
  const scroller = el('div', { class: 'scroller', id: 'activations-scroller', tabindex: 0 },
    el('table', { id: 'activations-table', class: 'grid fixed' },
      el('colgroup', {}, ['w-time', 'w-tool', 'w-ver', 'w-org', 'w-st', 'w-code', 'w-dur', 'w-cost'].map((c) => el('col', { class: c }))),
      el('thead', {}, el('tr', {}, ['Started', 'Tool', 'Version', 'Organization', 'Status', 'HTTP', 'Duration', 'Cost']
        .map((c) => el('th', { scope: 'col' }, c)))),
      tbody));
  view.append(el('div', { class: 'card' }, el('div', { class: 'row spread' }, filters.form, tail), scroller));
  const shown = new Set();

  const load = async () => {
    const { activations = [] } = await get(`/activations${query({ ...filters.values(), limit: 200 })}`);
    const top = scroller.scrollTop;
    const ids = new Set(activations.map((a) => a.id));
    // Live rows that came in while the list was on its way stay on top.
    const early = [...tbody.querySelectorAll('tr[data-live]')]
      .filter((tr) => !ids.has(tr.dataset.id) && matchesFilters(rowData.get(tr), actFilters));
    shown.clear();
    for (const tr of early) shown.add(tr.dataset.id);
    tbody.replaceChildren(...early, ...activations.map((a) => { shown.add(a.id); return activationRow(a, false); }));
    scroller.scrollTop = top;
    tbody.dataset.loaded = '1';
  };
  filters.form.addEventListener('submit', (e) => { e.preventDefault(); filters.save(); load(); });

  // New runs go on top; if the user scrolled down, shift by the row's height so what they are
  // reading stays where it is.
  const onActivation = (a) => {
    if (shown.has(a.id) || !matchesFilters(a, actFilters)) return;
    shown.add(a.id);
    const tr = activationRow(a, true);
    const keep = scroller.scrollTop > 0;
    tbody.prepend(tr);
    if (keep) scroller.scrollTop += tr.offsetHeight;
    while (tbody.rows.length > MAX_TAIL_ROWS) {
      shown.delete(tbody.lastElementChild.dataset.id);
      tbody.lastElementChild.remove();
    }
  };
  let connectedBefore = false;
  const onState = (state, detail) => {
    tail.dataset.state = state;
    tail.textContent = { connecting: 'connecting…', live: '● live', error: `reconnecting (${detail})` }[state];
    // After a reconnect, runs recorded during the gap are only in the list: reload it.
    if (state === 'live' && connectedBefore) load();
    if (state === 'live') connectedBefore = true;
  };
  // The stream first, then the list: a run recorded in between is in one of them (rows dedupe).
  tailActivations(signal, onActivation, onState);
  await load();
}

function filterForm() {
  const tool = el('input', { id: 'filter-tool', list: 'filter-tool-list', value: actFilters.tool, placeholder: 'any', size: 14 });
  const toolList = el('datalist', { id: 'filter-tool-list' });
  listTools().then((ts) => toolList.replaceChildren(...ts.map((t) => option(t.id))));
  const status = el('select', { id: 'filter-status' },
    ['', 'success', 'error', 'timeout', 'interrupted'].map((s) => option(s, s || 'any', s === actFilters.status)));
  const org = el('input', { id: 'filter-org', value: actFilters.organization, placeholder: 'any', size: 10 });
  const since = el('input', { id: 'filter-since', type: 'datetime-local', step: 1, value: actFilters.since });
  const form = el('form', { class: 'row filters', id: 'activation-filters' },
    el('label', {}, 'Tool ', tool), toolList, el('label', {}, 'Status ', status), el('label', {}, 'Organization ', org),
    el('label', {}, 'Since ', since), el('button', { type: 'submit', id: 'filter-apply' }, 'Apply'));
  return {
    form,
    save() {
      Object.assign(actFilters, { tool: tool.value.trim(), status: status.value, organization: org.value.trim(), since: since.value });
    },
    // `since` is typed in local time; the API takes an instant.
    values: () => ({ ...actFilters, since: actFilters.since ? new Date(actFilters.since).toISOString() : '' }),
  };
}

function matchesFilters(a, f) {
  return (!f.tool || a.tool === f.tool) && (!f.status || a.status === f.status)
    && (!f.organization || a.organization === f.organization)
    && (!f.since || new Date(a.started_at) >= new Date(f.since));
}

// The activation each row shows (for re-filtering live rows).
const rowData = new WeakMap();

function activationRow(a, live) {
  const href = `#/activations/${enc(a.id)}`;
  const tr = el('tr', { 'data-testid': 'activation-row', 'data-id': a.id, 'data-tool': a.tool,
    'data-live': live ? '1' : undefined, class: live ? 'fresh' : undefined },
    el('td', {}, el('a', { href, 'data-testid': 'activation-link' }, timeEl(a.started_at))),
    el('td', { title: a.tool }, a.tool),
    el('td', {}, a.version),
    el('td', {}, a.organization),
    el('td', {}, statusBadge(a.status),
      a.injected ? el('span', { class: 'badge injected', title: 'answered by fault injection' }, 'fault') : null),
    el('td', {}, String(a.statusCode)),
    el('td', { class: 'num' }, `${a.duration_ms} ms`),
    el('td', { class: 'num' }, a.cost));
  rowData.set(tr, a);
  // The whole row is a target for the mouse; the link in its first cell is the keyboard's.
  tr.addEventListener('click', (e) => { if (!e.target.closest('a')) location.hash = href; });
  return tr;
}

/**
 * The SSE stream read with fetch (EventSource cannot send the Authorization header), frames
 * parsed by hand, reconnecting with backoff until the page is left.
 */
async function tailActivations(signal, onActivation, onState) {
  let delay = 500;
  while (!signal.aborted) {
    onState('connecting');
    try {
      const res = await fetch(`${API}/activations/stream`, { headers: authHeaders(), signal });
      if (res.status === 401) { showLogin('The emulator refused that token (401).'); return; }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState('live');
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = (buf + value).replace(/\r\n|\r(?=.)/gs, '\n');  // a trailing \r may pair with the next chunk's \n
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = parseSseFrame(buf.slice(0, end));
          buf = buf.slice(end + 2);
          if (frame?.event === 'activation') {
            const a = parseJson(frame.data);
            if (a) onActivation(a);
          }
        }
      }
      throw new Error('stream closed');
    } catch (e) {
      if (signal.aborted) return;
      onState('error', e.message);
      await sleep(delay);
      delay = Math.min(delay * 2, 15000);
    }
  }
}

/** One SSE frame's fields (comments and keep-alives give null). */
function parseSseFrame(frame) {
  let event = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { event, data: data.join('\n') } : null;
}

// ---------------------------------------------------------------------------------------------
// One activation, and its replay
// ---------------------------------------------------------------------------------------------

async function activationPage(view, signal, id) {
  const a = await get(`/activations/${enc(id)}`);
  view.append(el('p', {}, el('a', { href: '#/activations' }, '← Activations')),
    el('h1', {}, 'Activation ', el('code', { 'data-testid': 'activation-id' }, a.id)));
  if (a.replay_of) {
    view.append(el('p', {}, 'Replay of ', el('a', { href: `#/activations/${enc(a.replay_of)}`, 'data-testid': 'replay-of-link' }, a.replay_of)));
  }
  view.append(el('div', { class: 'card', id: 'activation-detail' }, el('dl', { class: 'meta' },
    ...meta('Tool', el('a', { href: `#/tools/${enc(a.tool)}` }, a.tool)), ...meta('Organization', a.organization),
    ...meta('Status', el('span', { 'data-testid': 'activation-status' },
      statusBadge(a.status), ` HTTP ${a.statusCode}`, a.injected ? ' (fault injection)' : '')),
    ...meta('Version', a.version), ...meta('Code hash', el('code', { title: a.code_hash }, shortHash(a.code_hash))),
    ...meta('Runtime', a.runtime), ...meta('Duration', `${a.duration_ms} ms`), ...meta('Cost', a.cost),
    ...meta('Started', timeEl(a.started_at)), ...meta('Finished', timeEl(a.finished_at)),
    ...(a.error ? meta('Error', el('span', { class: 'error' }, a.error)) : []))));
  view.append(replayCard(a),
    section('Event', textBlock(prettyValue(a.event), 'activation-event')),
    section('Response', responseView(responseText(a), 'activation-response')),
    section('Logs', textBlock(a.logs || '(no logs)', 'activation-logs', 'code logs')),
    section('Outbound HTTP', (a.http ?? []).length
      ? table(['Method', 'URL', 'Status', 'Duration', 'Source'], a.http.map((x) => el('tr', {},
        el('td', {}, x.method), el('td', { class: 'wrap' }, x.url), el('td', {}, x.status ?? (x.error ? `— ${x.error}` : '—')),
        el('td', { class: 'num' }, `${x.duration_ms} ms`), el('td', {}, x.source))), { class: 'grid', 'data-testid': 'activation-http' })
      : el('p', { class: 'muted' }, 'No outbound requests.')));
}

function replayCard(a) {
  const same = el('input', { type: 'checkbox', id: 'replay-same-version' });
  const button = el('button', { id: 'replay-btn', type: 'button', class: 'primary' }, 'Replay');
  const out = el('div', { id: 'replay-result', 'aria-live': 'polite' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    out.replaceChildren(el('p', { class: 'muted' }, 'Replaying…'));
    try {
      const r = await post(`/activations/${enc(a.id)}/replay`, { same_version: same.checked });
      out.replaceChildren(compareView(r.original, r.replay));
    } finally { button.disabled = false; }
  });
  return section('Replay', el('div', { class: 'row' }, button,
    el('label', { for: 'replay-same-version' }, same, ' same version (', a.version, ') — otherwise the draft in force now')), out);
}

/** The two runs side by side, then a line diff of their responses. */
function compareView(o, r) {
  const rows = [['Status', (x) => [statusBadge(x.status), ` HTTP ${x.statusCode}`]], ['Duration', (x) => `${x.duration_ms} ms`],
    ['Version', (x) => x.version], ['Code hash', (x) => el('code', { title: x.code_hash }, shortHash(x.code_hash))],
    ['Started', (x) => timeEl(x.started_at)]];
  const [lv, rv] = [parseJson(responseText(o)), parseJson(responseText(r))];
  const both = lv !== undefined && rv !== undefined;
  const [left, right] = both ? [JSON.stringify(lv, null, 2), JSON.stringify(rv, null, 2)] : [responseText(o), responseText(r)];
  // An envelope's body is one JSON string: diff its decoded lines, which is where runs differ.
  const inner = (v) => (v && typeof v.body === 'string' && parseJson(v.body) !== undefined ? { ...v, body: parseJson(v.body) } : v);
  const decoded = both && (inner(lv) !== lv || inner(rv) !== rv);
  const [dl, dr] = decoded ? [JSON.stringify(inner(lv), null, 2), JSON.stringify(inner(rv), null, 2)] : [left, right];
  return el('div', { 'data-testid': 'replay-compare' },
    table(['', 'Original', 'Replay'],
      rows.map(([label, f]) => el('tr', {}, el('th', { scope: 'row' }, label), el('td', {}, f(o)), el('td', {}, f(r)))),
      { class: 'grid compare' }),
    el('p', {}, el('a', { href: `#/activations/${enc(r.id)}`, 'data-testid': 'replay-link' }, `Open the replay (${r.id})`)),
    el('div', { class: 'two' }, el('div', {}, el('h3', {}, 'Original response'), textBlock(left, 'replay-original')),
      el('div', {}, el('h3', {}, 'Replay response'), textBlock(right, 'replay-response'))),
    el('h3', {}, decoded ? 'Diff (envelope bodies decoded)' : 'Diff'), diffView(dl, dr));
}

/**
 * Line diff by longest common subsequence (after trimming the common head and tail, which is
 * most of two runs of one tool). Past a few million cells it says so instead of freezing.
 */
function lineDiff(a, b) {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail), y = b.slice(head, b.length - tail);
  const n = x.length, m = y.length;
  if ((n + 1) * (m + 1) > 4e6) return null;
  const w = m + 1, lcs = new Uint32Array((n + 1) * w); // lcs[i*w+j]: LCS of x[i..], y[j..]
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out = a.slice(0, head).map((t) => [' ', t]);
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; }
    else if (i < n && (j === m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) out.push(['-', x[i++]]);
    else out.push(['+', y[j++]]);
  }
  return out.concat(a.slice(a.length - tail).map((t) => [' ', t]));
}

function diffView(left, right) {
  const ops = lineDiff(left.split('\n'), right.split('\n'));
  if (!ops) return el('p', { class: 'muted', 'data-testid': 'replay-diff' }, 'Too large for a line diff.');
  const changed = ops.filter(([op]) => op !== ' ').length;
  const pre = el('pre', { class: 'code diff', tabindex: 0 }, ops.slice(0, 5000).map(([op, text]) =>
    el('span', { class: op === '+' ? 'ins' : op === '-' ? 'del' : 'same', 'data-op': op }, `${op} ${text}\n`)));
  return el('div', { 'data-testid': 'replay-diff', 'data-changed': changed },
    el('p', { class: 'muted' }, changed ? `${changed} line(s) differ` : 'The responses are identical.'), pre);
}

// ---------------------------------------------------------------------------------------------
// Wallet and keys (per organization)
// ---------------------------------------------------------------------------------------------

let currentOrg = '';

/** The organization select both pages share; calls `onPick(slug)` now and on change. */
async function orgPicker(onPick) {
  const orgs = await listOrgs();
  if (!orgs.some((o) => o.slug === currentOrg)) currentOrg = orgs[0]?.slug ?? '';
  const select = el('select', { id: 'org-select' }, orgs.map((o) => option(o.slug, `${o.name} (${o.slug})`, o.slug === currentOrg)));
  select.addEventListener('change', () => { currentOrg = select.value; onPick(currentOrg); });
  if (currentOrg) onPick(currentOrg);
  return el('label', { class: 'row picker' }, 'Organization ', select);
}

async function walletPage(view) {
  view.append(el('h1', {}, 'Wallet'));
  const body = el('div');
  const show = async (slug) => {
    const [w, l] = await Promise.all([get(`/organizations/${enc(slug)}/wallet`), get(`/organizations/${enc(slug)}/wallet/ledger?limit=100`)]);
    const amount = el('input', { id: 'topup-amount', value: '5.00', inputmode: 'decimal', size: 8, required: true });
    const form = el('form', { class: 'row' }, el('label', {}, 'Top up ', amount), el('button', { type: 'submit', id: 'topup-btn' }, 'Add credits'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      await post(`/organizations/${enc(slug)}/wallet/topup`, { amount: amount.value.trim() });
      show(slug);
    });
    body.replaceChildren(
      el('div', { class: 'card' }, el('p', { class: 'big' }, 'Balance ', el('strong', { 'data-testid': 'wallet-balance' }, w.balance)), form),
      section('Ledger (newest 100)', table(['#', 'Amount', 'Label', 'Status', 'Activation', 'When'], (l.entries ?? []).map((x) => el('tr', {},
        el('td', {}, String(x.id)), el('td', { class: 'num' }, x.amount), el('td', {}, x.label), el('td', {}, x.status),
        el('td', {}, x.activation_id ? el('a', { href: `#/activations/${enc(x.activation_id)}` }, x.activation_id.slice(0, 8)) : '—'),
        el('td', {}, timeEl(x.created_at)))), { class: 'grid', id: 'ledger-table' })));
  };
  view.append(await orgPicker(show), body);
}

async function keysPage(view) {
  view.append(el('h1', {}, 'Keys'));
  const secret = el('div', { id: 'new-key', 'aria-live': 'polite' });
  const list = el('div');
  const revoke = async (k) => {
    if (!confirm(`Revoke key ${k.name}? Requests with it are refused from the next one on.`)) return;
    await del(`/keys/${enc(k.id)}`);
    show(currentOrg);
  };
  const keyRow = (k) => el('tr', { 'data-testid': 'key-row', 'data-id': k.id },
    el('td', {}, k.name), el('td', {}, el('code', {}, k.prefix)),
    el('td', {}, el('span', { class: `badge key-${k.state}` }, k.state)),
    el('td', { class: 'num' }, String(k.use_count)), el('td', {}, timeEl(k.last_used_at)),
    el('td', {}, timeEl(k.expires_at)), el('td', {}, timeEl(k.created_at)),
    el('td', {}, k.state === 'revoked' ? ''
      : el('button', { type: 'button', class: 'danger', 'data-testid': 'key-revoke', onclick: () => revoke(k) }, 'Revoke')));
  const show = async (slug) => {
    const { keys = [] } = await get(`/organizations/${enc(slug)}/keys`);
    list.replaceChildren(table(['Name', 'Prefix', 'State', 'Uses', 'Last used', 'Expires', 'Created', ''], keys.map(keyRow),
      { class: 'grid', id: 'keys-table' }));
  };
  const name = el('input', { id: 'key-name', required: true, size: 16 });
  const expires = el('input', { id: 'key-expires', type: 'date' });
  const form = el('form', { class: 'row' }, el('label', {}, 'Name ', name), el('label', {}, 'Expires (optional) ', expires),
    el('button', { type: 'submit', id: 'key-create-btn', class: 'primary' }, 'Create key'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), ...(expires.value ? { expires: expires.value } : {}) };
    const k = await post(`/organizations/${enc(currentOrg)}/keys`, body);
    name.value = '';
    // The secret is in this answer only: show it once, with a copy button.
    const code = el('code', { 'data-testid': 'new-key-secret' }, k.key);
    const copy = el('button', { type: 'button', id: 'copy-key-btn', onclick: async () => {
      try { await navigator.clipboard.writeText(k.key); copy.textContent = 'Copied'; } catch {
        getSelection().selectAllChildren(code); copy.textContent = 'Selected: press Ctrl+C';
      }
    } }, 'Copy');
    secret.replaceChildren(el('div', { class: 'card notice' }, el('p', {}, `Key “${k.name}” — shown only now, copy it:`),
      el('p', { class: 'row' }, code, copy),
      el('button', { type: 'button', class: 'link', onclick: () => secret.replaceChildren() }, 'Done, hide it')));
    show(currentOrg);
  });
  view.append(await orgPicker(show), section('New key', form), secret, section('Keys', list));
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

async function faultsPage(view) {
  view.append(el('h1', {}, 'Faults'));
  const [{ rows = [] }, tools] = await Promise.all([get('/catalogue'), listTools()]);
  const list = el('div', { id: 'faults-list' });
  const fired = el('div', { id: 'faults-fired' });
  const field = (label, input) => el('label', {}, label, ' ', input);
  const f = {
    response: el('select', { id: 'fault-response' }, option('', 'none (latency only)'),
      rows.map((r) => option(r.id, `${r.id} — ${r.status} ${r.family}${r.code ? ` ${r.code}` : ''}`))),
    tool: el('select', { id: 'fault-tool' }, option('', 'any'), tools.map((t) => option(t.id))),
    route: el('input', { id: 'fault-route', placeholder: '/api/v1/functions/', size: 18 }),
    organization: el('input', { id: 'fault-org', placeholder: 'any', size: 10 }),
    times: el('input', { id: 'fault-times', type: 'number', min: 1, step: 1, size: 5, placeholder: '∞' }),
    probability: el('input', { id: 'fault-probability', type: 'number', min: 0, max: 1, step: 'any', size: 5, placeholder: '1' }),
    latency_ms: el('input', { id: 'fault-latency', type: 'number', min: 0, step: 1, size: 6, placeholder: '0' }),
  };
  const form = el('form', { id: 'fault-form', class: 'row wrap' },
    field('Row', f.response), field('Tool', f.tool), field('Route prefix', f.route), field('Organization', f.organization),
    field('Times', f.times), field('Probability', f.probability), field('Latency ms', f.latency_ms),
    el('button', { type: 'submit', id: 'fault-add-btn', class: 'primary' }, 'Add fault'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // Only the scopes given are sent: each one given must match.
    const spec = {};
    for (const k of ['response', 'tool', 'route', 'organization']) if (f[k].value.trim()) spec[k] = f[k].value.trim();
    for (const k of ['times', 'latency_ms']) if (f[k].value !== '') spec[k] = parseInt(f[k].value, 10);
    if (f.probability.value !== '') spec.probability = parseFloat(f.probability.value);
    await post('/faults', spec);
    show();
  });
  const remove = async (path) => { await del(path); show(); };
  const clear = el('button', { type: 'button', id: 'faults-clear', class: 'danger', onclick: () => remove('/faults') }, 'Remove all');
  const faultRow = (x) => el('tr', { 'data-testid': 'fault-row', 'data-id': x.id },
    el('td', {}, x.id), el('td', {}, x.response ?? '—'), el('td', {}, x.tool ?? 'any'), el('td', {}, x.route ?? 'any'),
    el('td', {}, x.organization ?? 'any'), el('td', {}, x.remaining ?? '∞'), el('td', {}, String(x.probability ?? 1)),
    el('td', {}, x.latency_ms ? `${x.latency_ms} ms` : '—'), el('td', { 'data-testid': 'fault-hits' }, String(x.hits)),
    el('td', {}, el('button', { type: 'button', 'data-testid': 'fault-remove', onclick: () => remove(`/faults/${enc(x.id)}`) }, 'Remove')));
  const firedRow = (a) => el('tr', {},
    el('td', {}, timeEl(a.started_at)), el('td', {}, a.tool), el('td', {}, a.organization), el('td', {}, String(a.statusCode)),
    el('td', {}, el('a', { href: `#/activations/${enc(a.id)}` }, 'details')));
  const show = async () => {
    const { faults = [] } = await get('/faults');
    list.replaceChildren(faults.length
      ? table(['Id', 'Row', 'Tool', 'Route', 'Organization', 'Remaining', 'Probability', 'Latency', 'Hits', ''], faults.map(faultRow),
        { class: 'grid', id: 'faults-table' })
      : el('p', { class: 'muted', 'data-testid': 'faults-empty' }, 'No fault in force (used-up faults are removed).'));
    // What fired: a used-up fault leaves the list, but its injected answers to tool runs are
    // recorded as activations.
    const { activations = [] } = await get('/activations?limit=200');
    const hits = activations.filter((a) => a.injected).slice(0, 20);
    fired.replaceChildren(hits.length
      ? table(['When', 'Tool', 'Organization', 'HTTP', ''], hits.map(firedRow), { class: 'grid', id: 'faults-fired-table' })
      : el('p', { class: 'muted' }, 'No injected answer among the last 200 activations.'));
  };
  view.append(section('Add a fault', form), section('In force', el('div', { class: 'actions' }, clear), list),
    section('Recently fired (tool runs answered by a fault)', fired));
  await show();
}

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

async function clockPage(view, signal) {
  view.append(el('h1', {}, 'Clock'));
  const now = el('div', { class: 'card' });
  // The emulator's time runs on from the instant it answered: tick locally from that offset.
  let offset = 0;
  const clockText = el('strong', { 'data-testid': 'clock-now' });
  const tick = () => clockText.replaceChildren(timeEl(new Date(Date.now() + offset).toISOString()));
  const timer = setInterval(tick, 1000);
  signal.addEventListener('abort', () => clearInterval(timer));
  const showClock = (c) => {
    offset = new Date(c.now) - Date.now();
    tick();
    now.replaceChildren(el('p', { class: 'big' }, 'Emulator time ', clockText),
      el('p', { 'data-testid': 'clock-moved', 'data-moved': c.moved ? '1' : '0', class: c.moved ? 'notice-text' : 'muted' },
        c.moved ? 'Moved: the test clock runs on from the instant set.' : 'Real time.'));
  };
  const move = async (body) => showClock(await post('/clock', body));
  const advance = el('input', { id: 'clock-advance', value: '15m', size: 8, required: true });
  const at = el('input', { id: 'clock-set', placeholder: '2027-01-01T00:00:00Z', size: 24, required: true });
  const advForm = el('form', { class: 'row' }, el('label', {}, 'Advance by ', advance),
    el('button', { type: 'submit', id: 'clock-advance-btn' }, 'Advance'), el('span', { class: 'muted' }, '15m, 90s, 1h30m, 2d'));
  advForm.addEventListener('submit', (e) => { e.preventDefault(); move({ advance: advance.value.trim() }); });
  const setForm = el('form', { class: 'row' }, el('label', {}, 'Set to ', at),
    el('button', { type: 'submit', id: 'clock-set-btn' }, 'Set'), el('span', { class: 'muted' }, 'RFC 3339 or YYYY-MM-DD'));
  setForm.addEventListener('submit', (e) => { e.preventDefault(); move({ set: at.value.trim() }); });
  const real = el('button', { type: 'button', id: 'clock-real-btn', onclick: () => move({ real: true }) }, 'Back to real time');
  view.append(now, section('Move the test clock', advForm, setForm, el('div', { class: 'actions' }, real)));
  showClock(await get('/clock'));
}

// ---------------------------------------------------------------------------------------------
// Planes
// ---------------------------------------------------------------------------------------------

async function planesPage(view) {
  view.append(el('h1', {}, 'Planes'));
  const users = el('div', { id: 'identity-users' });
  const roles = el('div', { id: 'identity-roles' });
  const tenants = el('div', { id: 'cortex-tenants' });
  const docs = el('div', { id: 'cortex-documents', 'aria-live': 'polite' });
  const functions = el('div', { id: 'fold-functions' });
  const runs = el('div', { id: 'fold-activations' });
  const act = (u, verb) => el('button', { type: 'button', 'data-testid': `user-${verb}`, onclick: async () => {
    await post(`/identity/users/${enc(u.id)}/${verb}`, {});
    showUsers();
  } }, verb);
  const userRow = (u) => el('tr', { 'data-testid': 'user-row', 'data-id': u.id },
    el('td', {}, u.email), el('td', {}, u.tenant), el('td', {}, `${u.first_name} ${u.last_name}`), el('td', {}, u.status),
    el('td', {}, u.locked ? ['until ', timeEl(u.locked_until)] : 'no'), el('td', { class: 'num' }, String(u.failed_logins)),
    // Unlock forgets failed logins too, so it is offered as soon as there is one.
    el('td', { class: 'buttons' }, u.locked || u.failed_logins ? act(u, 'unlock') : null,
      u.status === 'SUSPENDED' ? act(u, 'reactivate') : act(u, 'suspend')));
  const showUsers = () => fill(users, async () => {
    const { users: list = [] } = await get('/identity/users');
    return list.length
      ? table(['Email', 'Tenant', 'Name', 'Status', 'Locked', 'Failed logins', ''], list.map(userRow), { class: 'grid', id: 'users-table' })
      : el('p', { class: 'muted' }, 'No identity users yet (register one through /identity/auth/register).');
  });
  const showRoles = () => fill(roles, async () => {
    const { roles: list = [] } = await get('/identity/roles');
    return list.length
      ? table(['Role', 'Tenant', 'Scope', 'Description', 'Permissions', 'Assignments'], list.map(roleRow),
        { class: 'grid', id: 'roles-table', 'data-testid': 'planes-identity-roles' })
      : el('p', { class: 'muted', 'data-testid': 'planes-identity-roles-empty' }, 'No roles yet.');
  });

  // Cortex API: a tenant's button loads its documents into the box below the table.
  let openTenant = null;
  const tenantButtons = new Map();
  const openDocs = async (t) => {
    openTenant = t.id;
    for (const [id, b] of tenantButtons) {
      b.setAttribute('aria-pressed', String(id === t.id));
      b.closest('tr').classList.toggle('selected', id === t.id);
    }
    docs.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
    await fill(docs, async () => {
      const { documents = [] } = await get(`/cortex-api/tenants/${enc(t.id)}/documents?limit=100`);
      if (openTenant !== t.id) return null;  // another tenant was chosen meanwhile
      const title = el('h3', {}, 'Documents and memories of ', el('code', {}, t.id), documents.length >= 100 ? ' (newest 100)' : '');
      return [title, documents.length
        ? table(['Title', 'Kind', 'Sub-tenant', 'File', 'Type', 'Size', 'Uploaded', 'Ready', 'Id'], documents.map(documentRow),
          { class: 'grid', id: 'cortex-documents-table', 'data-testid': 'planes-cortex-documents', 'data-tenant': t.id })
        : el('p', { class: 'muted', 'data-testid': 'planes-cortex-documents-empty', 'data-tenant': t.id },
          'No documents or memories yet: upload with POST /cortex-api/ingestion/upload_knowledge.')];
    });
  };
  const tenantRow = (t) => {
    const button = el('button', { type: 'button', class: 'link', 'data-testid': 'cortex-tenant-open', 'aria-pressed': 'false',
      'aria-controls': 'cortex-documents', title: `List the documents of ${t.id}`, onclick: () => openDocs(t) }, t.id);
    tenantButtons.set(t.id, button);
    const tr = el('tr', { 'data-testid': 'cortex-tenant-row', 'data-id': t.id, class: 'clickable' },
      el('td', {}, button), el('td', {}, t.organization ?? '—'),
      el('td', { class: 'wrap' }, commaList(t.sub_tenants)),
      el('td', { class: 'num' }, String(t.documents ?? 0)), el('td', { class: 'num' }, String(t.memories ?? 0)),
      el('td', {}, t.is_embeddings ? `yes${t.embeddings_dimension ? ` (${t.embeddings_dimension} dimensions)` : ''}` : 'no'),
      el('td', {}, timeEl(t.created_at)));
    // The whole row is a target for the mouse; the button in its first cell is the keyboard's.
    tr.addEventListener('click', (e) => { if (!e.target.closest('button')) button.click(); });
    return tr;
  };
  const showTenants = () => fill(tenants, async () => {
    const { tenants: list = [] } = await get('/cortex-api/tenants');
    tenantButtons.clear();
    openTenant = null;
    docs.replaceChildren(...(list.length ? [el('p', { class: 'muted' }, 'Choose a tenant above to list its documents.')] : []));
    return list.length
      ? table(['Tenant', 'Organization', 'Sub-tenants', 'Documents', 'Memories', 'Embeddings', 'Created'], list.map(tenantRow),
        { class: 'grid', id: 'cortex-tenants-table', 'data-testid': 'planes-cortex-tenants' })
      : el('p', { class: 'muted', 'data-testid': 'planes-cortex-tenants-empty' },
        'No tenants yet: create one with POST /cortex-api/tenants/create.');
  });

  const showFunctions = () => fill(functions, async () => {
    const { functions: list = [] } = await get('/fold/functions');
    return list.length
      ? table(['Function', 'Organization', 'Version', 'Versions', 'Run at', 'Created', 'Updated'], list.map(functionRow),
        { class: 'grid', id: 'fold-functions-table', 'data-testid': 'planes-fold-functions' })
      : el('p', { class: 'muted', 'data-testid': 'planes-fold-functions-empty' },
        'No fold functions yet: deploy one with POST /fold/deploy (or save one under fold-functions/<org>/<name>/).');
  });
  const showRuns = () => fill(runs, async () => {
    const { activations = [] } = await get('/fold/activations?limit=50');
    // Newest first, whatever order the answer has.
    const list = activations.slice().sort((a, b) => (Date.parse(b.triggered_at) || 0) - (Date.parse(a.triggered_at) || 0));
    return list.length
      ? table(['Triggered', 'Function', 'Version', 'Status', 'HTTP', 'Duration', 'Error', 'Id'], list.map(foldRunRow),
        { class: 'grid', id: 'fold-activations-table', 'data-testid': 'planes-fold-activations' })
      : el('p', { class: 'muted', 'data-testid': 'planes-fold-activations-empty' },
        'No fold activations yet: run a function at /fold/run/<org>/<name>.');
  });

  const servedAt = (path, readme) => el('p', { class: 'muted' }, 'Its own API: ', el('code', {}, `${location.origin}${path}`),
    ` (README, section “${readme}”).`);
  view.append(
    section('Identity', el('h3', {}, 'Users'), users, el('h3', {}, 'Roles'), roles),
    section('Cortex API tenants', servedAt('/cortex-api', 'Cortex API plane'), tenants, docs),
    section('Fold functions', servedAt('/fold', 'Fold deploy plane'), functions),
    section('Fold activations (newest 50)', runs));
  await Promise.all([showUsers(), showRoles(), showTenants(), showFunctions(), showRuns()]);
}

/**
 * Fills `box` with what `load()` gives (nothing when it gives null), "Loading…" meanwhile; a
 * failure (already in a banner) leaves a line saying so, and the other parts of the page load on.
 */
async function fill(box, load) {
  if (!box.hasChildNodes()) box.append(el('p', { class: 'muted' }, 'Loading…'));
  let content;
  try { content = await load(); } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, 'Could not load: see the banner above.'));
    throw e;
  }
  if (content !== null) box.replaceChildren(...[content].flat());
}

/** "a,b,c" (or null) as a list that wraps between its items only. */
function commaList(text, cls = 'item') {
  const items = String(text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) return el('span', { class: 'muted' }, 'none');
  return el('span', { class: 'list' }, items.flatMap((x, i) => [i ? ', ' : null, el('span', { class: cls }, x)]));
}

function roleRow(r) {
  return el('tr', { 'data-testid': 'role-row', 'data-name': r.name, 'data-id': r.id },
    el('td', {}, el('strong', {}, r.name)),
    el('td', {}, r.tenant ?? null, r.is_system ? [r.tenant ? ' ' : null, el('span', { class: 'badge', title: 'built in, every tenant has it' }, 'system')] : null),
    el('td', {}, r.scope_level ?? '—'),
    el('td', {}, r.description || el('span', { class: 'muted' }, '—')),
    el('td', { class: 'perms' }, commaList(r.permissions, 'perm')),
    el('td', { class: 'num' }, String(r.assignments ?? 0)));
}

function documentRow(x) {
  return el('tr', { 'data-testid': 'cortex-document-row', 'data-id': x.id },
    el('td', { class: 'wrap' }, x.title || el('span', { class: 'muted' }, '—')),
    el('td', {}, el('span', { class: `badge kind-${x.kind}` }, x.kind)),
    el('td', {}, x.sub_tenant ?? '—'),
    el('td', { class: 'wrap' }, x.filename || el('span', { class: 'muted' }, '—')),
    el('td', {}, x.content_type || el('span', { class: 'muted' }, '—')),
    el('td', { class: 'num' }, x.size_bytes != null ? fmtSize(x.size_bytes) : '—'),
    el('td', {}, timeEl(x.uploaded_at)),
    el('td', {}, x.ready_at ? timeEl(x.ready_at) : el('span', { class: 'muted' }, 'processing')),
    el('td', {}, el('code', { title: x.id }, shortHash(x.id))));
}

function functionRow(f) {
  return el('tr', { 'data-testid': 'fold-function-row', 'data-name': f.name, 'data-id': f.id, 'data-organization': f.organization },
    el('td', { title: f.id }, el('strong', {}, f.name)), el('td', {}, f.organization ?? '—'),
    el('td', {}, `v${f.version}`), el('td', { class: 'num' }, String(f.versions ?? 0)),
    el('td', {}, f.organization ? el('code', {}, `/fold/run/${f.organization}/${f.name}`) : '—'),
    el('td', {}, timeEl(f.created_at)), el('td', {}, timeEl(f.updated_at)));
}

const fmtMs = (ms) => (ms == null ? '—' : `${Math.round(Number(ms) * 10) / 10} ms`);

function foldRunRow(a) {
  return el('tr', { 'data-testid': 'fold-activation-row', 'data-id': a.id, 'data-function': a.function },
    el('td', {}, timeEl(a.triggered_at)),
    el('td', {}, a.organization ? `${a.organization}/${a.function}` : a.function),
    el('td', {}, a.version != null ? `v${a.version}` : '—'),
    el('td', {}, statusBadge(a.status),
      a.replay_of ? el('span', { class: 'badge replay', title: `replay of ${a.replay_of}` }, 'replay') : null),
    el('td', {}, a.response_status != null ? String(a.response_status) : '—'),
    el('td', { class: 'num' }, fmtMs(a.duration_ms)),
    el('td', { class: 'wrap' }, a.error_message ? el('span', { class: 'error' }, a.error_message) : el('span', { class: 'muted' }, '—')),
    el('td', {}, el('code', { title: a.id }, shortHash(a.id))));
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

takeTokenFromUrl();
render();
