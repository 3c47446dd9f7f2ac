// Strata console: the core. A one-page app with hash routes (#/topics,
// #/groups/g1, ...); each page module registers itself in `pages`. Every
// call goes to the admin port under the login the user gave (kept for the
// browser tab only), with the header that tells the server not to raise the
// browser's own login dialog.
'use strict';

const pages = {};
// `route` counts up on each navigation, so a page still loading after the
// user moved on starts no timers.
const state = { auth: sessionStorage.getItem('strata.auth'), whoami: null, timers: [], route: 0 };

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ('HTTP ' + status));
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({ 'X-Strata-Console': '1' }, options.headers || {});
  if (state.auth) headers['Authorization'] = state.auth;
  let body = options.body;
  if (body !== undefined && typeof body !== 'string') {
    body = JSON.stringify(body);
    headers['Content-Type'] = headers['Content-Type'] || 'application/json';
  }
  const response = await fetch(path, { method: options.method || 'GET', headers, body });
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = { message: text }; }
  if (response.status === 401) {
    showLogin(parsed && parsed.message);
    throw new ApiError(401, parsed);
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

// The REST Proxy (v3) and Schema Registry routes, as the console reaches them.
function rest(path) { return '/console/rest/v3/clusters/' + enc(state.whoami.cluster_id) + path; }
function registry(path) { return '/console/registry' + path; }

function enc(s) { return encodeURIComponent(s); }

function esc(value) {
  return String(value === undefined || value === null ? '' : value)
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + units[i];
}

function num(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }

function time(ms) { return ms < 0 ? '–' : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''); }

function $(sel, root) { return (root || document).querySelector(sel); }

function main() { return $('#main'); }

function showError(e) {
  if (e instanceof ApiError && e.status === 401) return;
  const box = $('#error');
  box.textContent = e && e.message ? e.message : String(e);
  box.hidden = false;
}

function clearError() { $('#error').hidden = true; }

// Runs `fn` now and every `ms` while the page of navigation `route` (the
// number `route()` handed the page) stays open.
function every(ms, fn, route) {
  if (route !== state.route) return;
  const tick = async () => {
    if (route !== state.route) return;
    try { await fn(); } catch (e) { showError(e); }
  };
  tick();
  state.timers.push(setInterval(tick, ms));
}

// A small line chart of `values` as inline SVG.
function sparkline(values, width, height, cls) {
  width = width || 160; height = height || 32;
  if (values.length === 1) values = [values[0], values[0]];  // one sample: a flat line
  if (values.length < 2) return '<svg class="' + (cls || 'spark') + '" width="' + width + '" height="' + height + '"></svg>';
  const max = Math.max(1, ...values);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => (i * step).toFixed(1) + ',' + (height - 2 - (v / max) * (height - 4)).toFixed(1)).join(' ');
  return '<svg class="' + (cls || 'spark') + '" viewBox="0 0 ' + width + ' ' + height + '" width="' + width + '" height="' + height +
    '" preserveAspectRatio="none"><polyline fill="none" stroke="#2458c6" stroke-width="1.5" points="' + points + '"/></svg>';
}

function table(headers, rows, id) {
  const head = headers.map(h => h.startsWith('#') ? '<th class="num">' + esc(h.slice(1)) + '</th>' : '<th>' + esc(h) + '</th>').join('');
  return '<table' + (id ? ' id="' + id + '"' : '') + '><thead><tr>' + head + '</tr></thead><tbody>' +
    (rows.length ? rows.join('') : '<tr><td colspan="' + headers.length + '" class="muted">none</td></tr>') + '</tbody></table>';
}

function showLogin(message) {
  state.timers.forEach(clearInterval);
  state.timers = [];
  main().innerHTML = '';
  $('#nav').hidden = true;
  $('#login').hidden = false;
  $('#whoami').textContent = '';
  $('#logout').hidden = true;
  $('#login-password').value = '';
  $('#login-token').value = '';
  if (!message) $('#login-user').value = '';
  const err = $('#login-error');
  err.hidden = !(state.auth && message);
  if (state.auth && message) err.textContent = message;
  state.whoami = null;
  state.auth = null;
  sessionStorage.removeItem('strata.auth');
}

// A pasted token is sent as `Authorization: Bearer` (an OAUTHBEARER cluster's
// users have no password); otherwise the user and password as Basic.
function credentials() {
  const token = $('#login-token').value.replace(/\s+/g, '').replace(/^Bearer/i, '');
  if (token) return 'Bearer ' + token;
  const user = $('#login-user').value;
  const password = $('#login-password').value;
  if (!user || !password) return null;
  return 'Basic ' + btoa(unescape(encodeURIComponent(user + ':' + password)));
}

async function login(event) {
  event.preventDefault();
  state.auth = credentials();
  if (!state.auth) {
    const err = $('#login-error');
    err.textContent = 'Give a user and password, or a token.';
    err.hidden = false;
    return;
  }
  try {
    await start();
    sessionStorage.setItem('strata.auth', state.auth);
  } catch (e) {
    const err = $('#login-error');
    err.textContent = e.message || 'Login failed';
    err.hidden = false;
  }
}

async function start() {
  state.whoami = await api('/console/api/whoami');
  sessionStorage.setItem('strata.auth', state.auth || '');
  $('#login').hidden = true;
  $('#nav').hidden = false;
  $('#whoami').textContent = state.whoami.principal + ' · cluster ' + state.whoami.cluster_id;
  $('#logout').hidden = !state.auth;
  route();
}

async function route() {
  if (!state.whoami) return;
  state.route++;
  state.timers.forEach(clearInterval);
  state.timers = [];
  clearError();
  const hash = location.hash.replace(/^#\/?/, '') || 'overview';
  const [path, query] = hash.split('?');
  const parts = path.split('/').map(decodeURIComponent);
  const page = pages[parts[0]] || pages.overview;
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('active', a.dataset.page === parts[0]));
  main().innerHTML = '<p class="muted">Loading…</p>';
  try {
    await page(parts.slice(1), new URLSearchParams(query || ''), state.route);
  } catch (e) {
    main().innerHTML = '';
    showError(e);
  }
}

pages.overview = async function (parts, query, route) {
  const history = { t: [], in: [], out: [] };
  main().innerHTML = '<h1>Overview</h1><div id="overview"></div>';
  every(2000, async () => {
    const o = await api('/console/api/overview');
    const h = history;
    let rateIn = 0, rateOut = 0;
    if (h.t.length) {
      const dt = Math.max(0.001, (o.time_ms - h.t[h.t.length - 1].time_ms) / 1000);
      rateIn = Math.max(0, (o.traffic.bytes_in - h.t[h.t.length - 1].traffic.bytes_in) / dt);
      rateOut = Math.max(0, (o.traffic.bytes_out - h.t[h.t.length - 1].traffic.bytes_out) / dt);
      h.in.push(rateIn); h.out.push(rateOut);
      if (h.in.length > 60) { h.in.shift(); h.out.shift(); }
    }
    h.t = [o];
    const disk = o.disk;
    const used = disk.total_bytes != null ? disk.total_bytes - disk.available_bytes : null;
    const listeners = o.listeners.map(l => '<tr><td>' + esc(l.name) + '</td><td class="mono">' + esc(l.host + ':' + l.port) + '</td></tr>');
    $('#overview').innerHTML =
      '<div class="cards">' +
      stat('Throughput in', bytes(rateIn) + '/s', 'rate-in') +
      stat('Throughput out', bytes(rateOut) + '/s', 'rate-out') +
      stat('Topics / partitions', num(o.topics) + ' / ' + num(o.partitions), 'topic-count') +
      stat('Log size on disk', bytes(disk.log_bytes), 'log-bytes') +
      stat('Tiered', o.tier.enabled ? bytes(o.tier.bytes) : 'tiering off', 'tier-bytes') +
      stat('Disk used', used == null ? '–' : bytes(used) + ' of ' + bytes(disk.total_bytes), 'disk-used') +
      '</div>' +
      '<div class="grid2"><div class="card"><h2>Bytes in per second <span class="muted">(peak ' + bytes(Math.max(0, ...h.in)) +
      '/s)</span></h2>' + sparkline(h.in, 600, 120, 'chart') +
      '</div><div class="card"><h2>Bytes out per second <span class="muted">(peak ' + bytes(Math.max(0, ...h.out)) +
      '/s)</span></h2>' + sparkline(h.out, 600, 120, 'chart') + '</div></div>' +
      '<div class="card"><h2>Kafka listeners</h2>' + table(['Listener', 'Advertised'], listeners, 'listeners') +
      '<p class="muted">Data directory <span class="mono">' + esc(disk.data_dir) + '</span> · totals ' +
      num(o.traffic.records_in) + ' records in, ' + num(o.traffic.records_out) + ' out</p></div>';
  }, route);
};

function stat(label, value, id) {
  return '<div class="card stat"><div class="label">' + esc(label) + '</div><div class="value" id="' + id + '">' + esc(value) + '</div></div>';
}

window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', () => { showLogin(); location.hash = '#/overview'; });
  start().catch(showError);
});
