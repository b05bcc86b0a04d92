// The handheld shell: boot, session, router, home, login, idle lock, status bar, scan routing.

import { api, ApiError, deviceId, newKey, onReachability, onUnauthorized, request } from './api.js';
import { cameraAvailable, manualEntry, scanWithCamera } from './camera.js';
import { clear, h, icon } from './dom.js';
import { feedback, installUnlock } from './feedback.js';
import { makeFormat } from './format.js';
import { LANGUAGES, lang, normaliseLang, setLanguage, t, translateDom } from './i18n.js';
import { connectLive, disconnectLive, onLive } from './live.js';
import { pinPad } from './pinpad.js';
import { createQueue } from './queue.js';
import { recentByGtin } from './recent.js';
import { createScanner } from './scanner.js';
import SCREENS from '../screens/index.js';

const ROLES = ['associate', 'supervisor', 'manager', 'admin'];
const PING_ONLINE_MS = 15000;
const PING_OFFLINE_MS = 2500;
const DEFAULT_IDLE_S = 300;
const root = document.documentElement;

const state = {
  user: null,
  settings: {},
  online: navigator.onLine,
  pending: 0,
  failed: 0,
  locked: false,
  current: null, // {def, ctx, abort, params}
  lastActivity: Date.now(),
};

const screenIds = SCREENS.map((s) => s.id);
const byId = new Map(SCREENS.map((s) => [s.id, s]));
const fmt = makeFormat(lang, () => storeOf(state.settings));
const $ = (id) => document.getElementById(id);

function storeOf(s) {
  return { id: s.store_id, name: s.store_name, currency: s.currency, currency_exponent: s.currency_exponent };
}

export function hasRole(role, have = state.user && state.user.role) {
  return !!have && ROLES.indexOf(have) >= ROLES.indexOf(role || 'associate');
}

// ---------------------------------------------------------------- status: online / pending

function setOnline(online) {
  if (state.online === online) return;
  state.online = online;
  paintStatus();
  if (online) {
    queue.flush();
    if (state.user && !state.locked) connectLive(liveState);
  }
}

function paintStatus() {
  root.dataset.online = state.online ? '1' : '0';
  root.dataset.pending = String(state.pending);
  const net = $('net-pill');
  net.className = 'pill net ' + (state.online ? 'ok' : 'bad');
  net.replaceChildren(icon(state.online ? 'online' : 'offline'), h('span', {}, t(state.online ? 'core.online' : 'core.offline')));
  const pend = $('pending-pill');
  const n = state.pending + state.failed;
  // always visible while someone works (0 = all sent); on the login screen only when something waits
  pend.hidden = n === 0 && (!state.user || state.locked);
  pend.className = 'pill pending' + (state.failed ? ' bad' : n === 0 ? ' none' : '');
  pend.replaceChildren(icon('sync'), h('span', { 'data-testid': 'pending-count' }, String(n)));
  pend.setAttribute('aria-label', t('core.pending_label', { n: state.pending, failed: state.failed }));
  $('offline-banner').hidden = state.online || !state.user;
}

function liveState(connected, why) {
  if (why === 'session_ended') sessionEnded();
  else if (connected) setOnline(true);
  else ping(); // the stream dropped: find out now whether the hub is gone
}

async function ping() {
  try {
    await request('GET', '/health', { timeout: 4000 });
  } catch { /* reachability already reported */ }
}

function schedulePing() {
  setTimeout(async () => {
    await ping();
    schedulePing();
  }, state.online ? PING_ONLINE_MS : PING_OFFLINE_MS);
}

const queue = createQueue({
  getUser: () => (state.locked ? null : state.user),
  isOnline: () => state.online,
  onChange: ({ pending, failed }) => {
    state.pending = pending;
    state.failed = failed;
    paintStatus();
  },
});

// ---------------------------------------------------------------- session

function saveSession() {
  localStorage.setItem('storehub.session', JSON.stringify({ user: state.user, settings: state.settings }));
}

function rememberUser(user) {
  const recent = JSON.parse(localStorage.getItem('storehub.recent') || '[]').filter((u) => u.username !== user.username);
  recent.unshift({ username: user.username, display_name: user.display_name || user.username });
  localStorage.setItem('storehub.recent', JSON.stringify(recent.slice(0, 4)));
}

async function loadSettings() {
  state.settings = await api.get('/settings');
}

async function startSession(user) {
  state.user = user;
  state.locked = false;
  rememberUser(user);
  try { await loadSettings(); } catch { /* keep cached settings */ }
  saveSession();
  const l = normaliseLang(user.language);
  if (l !== lang()) await switchLanguage(l, { remote: false });
  localStorage.setItem('storehub.lang', l);
  clear($('lock')).hidden = true;
  delete root.dataset.locked;
  root.dataset.auth = '1';
  state.lastActivity = Date.now();
  connectLive(liveState);
  queue.flush();
  paintChrome();
  route();
}

async function logout() {
  try { await api.post('/auth/logout'); } catch { /* offline: the cookie still goes below */ }
  endSession();
}

function closeDialogs() {
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
}

function endSession() {
  disconnectLive();
  closeDialogs();
  state.user = null;
  state.locked = false;
  localStorage.removeItem('storehub.session');
  root.dataset.auth = '0';
  clear($('lock')).hidden = true;
  delete root.dataset.locked;
  paintChrome();
  if (location.hash && location.hash !== '#/') history.replaceState(null, '', '#/');
  showLogin();
}

function sessionEnded() {
  toast(t('core.session_ended'), 'warn');
  endSession();
}

async function doLogin(body) {
  let res;
  try {
    res = await api.post('/auth/login', { ...body, device: deviceId() });
  } catch (err) {
    feedback.error();
    const key = err.offline ? 'core.login_offline' : err.status === 429 ? 'core.login_locked' : 'core.login_failed';
    toast(t(key, { s: err.details && err.details.retry_after_s }), 'error');
    return false;
  }
  feedback.success();
  await startSession(res.user);
  return true;
}

function badgeFromCode(code) {
  let c = code.trim().replace(/^\][A-Za-z][0-9A-Za-z]/, '');
  if (c.startsWith('SHB-')) c = c.slice(4);
  return c;
}

// ---------------------------------------------------------------- login and lock

let pinHandler = null;

function loginForm({ lockedUser } = {}) {
  const recent = JSON.parse(localStorage.getItem('storehub.recent') || '[]');
  const userInput = h('input', {
    id: lockedUser ? 'lock-user' : 'login-user', class: 'field', type: 'text', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', 'data-testid': lockedUser ? 'lock-user' : 'login-user',
    value: lockedUser ? lockedUser.username : (recent[0] && recent[0].username) || '',
    readonly: !!lockedUser,
  });
  const pad = pinPad({
    onSubmit: async (pin) => {
      const user = userInput.value.trim();
      if (!user) { toast(t('core.login_need_user'), 'warn'); feedback.warn(); userInput.focus(); return; }
      await doLogin({ user, pin });
    },
  });
  pinHandler = (e) => {
    if (document.activeElement === userInput) return false;
    return pad.key(e);
  };
  const chips = !lockedUser && recent.length > 1 ? h('div', { class: 'chips', role: 'group', 'aria-label': t('core.recent_users') },
    recent.map((u) => h('button', {
      type: 'button', class: 'chip', 'aria-pressed': String(userInput.value === u.username),
      onclick: (e) => {
        userInput.value = u.username;
        for (const c of e.currentTarget.parentNode.children) c.setAttribute('aria-pressed', String(c === e.currentTarget));
        pad.clear();
      },
    }, u.display_name || u.username))) : null;
  return {
    pad,
    el: h('div', { class: 'login-card' },
      h('label', { class: 'label', for: userInput.id }, t('core.user')),
      userInput,
      chips,
      h('div', { class: 'label', id: 'pin-label' }, t('core.pin')),
      pad.el,
      h('p', { class: 'badge-hint' }, icon('barcode'), h('span', {}, t('core.scan_badge')))),
  };
}

function languageToggle() {
  return h('div', { class: 'lang-toggle', role: 'group', 'aria-label': t('core.language') },
    LANGUAGES.map((l) => h('button', {
      type: 'button', class: 'chip', lang: l, 'aria-pressed': String(l === lang()), 'data-testid': `lang-${l}`,
      onclick: async () => { await switchLanguage(l, { remote: !!state.user }); if (!state.user) showLogin(); },
    }, t(`core.lang_${l}`))));
}

let loginPad = null;

function showLogin() {
  leaveScreen();
  const main = $('main');
  clear(main);
  $('title').textContent = t('core.app_name');
  $('nav-back').hidden = true;
  const form = loginForm();
  loginPad = form.pad;
  main.append(h('section', { class: 'screen login', 'data-screen': 'login', 'aria-labelledby': 'login-title' },
    h('div', { class: 'brand' }, h('img', { src: 'icons/icon.svg', alt: '', width: 56, height: 56 }),
      h('div', {}, h('h2', { id: 'login-title' }, t('core.login_title')), h('p', { class: 'muted' }, t('core.login_sub')))),
    form.el,
    languageToggle()));
  root.dataset.current = 'login';
}

function lock() {
  if (!state.user || state.locked) return;
  state.locked = true;
  leaveScreen();
  closeDialogs(); // modal dialogs sit in the top layer, above the lock: nothing may stay readable
  disconnectLive();
  // Lock ends the session on the hub when it can be reached: an unattended handheld holds no live session.
  api.post('/auth/logout').catch(() => {});
  const box = $('lock');
  clear(box);
  const form = loginForm({ lockedUser: state.user });
  loginPad = form.pad;
  box.append(h('div', { class: 'lock-inner', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'lock-title', 'data-testid': 'lock' },
    h('div', { class: 'lock-head' }, icon('lock', 'icon xl'),
      h('div', {}, h('h2', { id: 'lock-title' }, t('core.locked_title')),
        h('p', { class: 'muted' }, t('core.locked_sub', { name: state.user.display_name || state.user.username })))),
    form.el,
    h('button', { type: 'button', class: 'btn ghost', 'data-testid': 'switch-user', onclick: () => endSession() }, icon('user'), t('core.switch_user'))));
  box.hidden = false;
  root.dataset.locked = '1';
  box.querySelector('.pin-key').focus();
}

function watchIdle() {
  const touch = () => { state.lastActivity = Date.now(); };
  for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) window.addEventListener(ev, touch, { capture: true, passive: true });
  setInterval(() => {
    const s = Number(state.settings.handheld_idle_lock_s ?? DEFAULT_IDLE_S);
    if (state.user && !state.locked && s > 0 && Date.now() - state.lastActivity > s * 1000) lock();
  }, 500);
}

// ---------------------------------------------------------------- router

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [id, qs] = raw.split('?');
  return { id: id || 'home', params: Object.fromEntries(new URLSearchParams(qs || '')) };
}

export function navigate(id, params = {}) {
  const qs = new URLSearchParams(params).toString();
  const target = `#/${id === 'home' ? '' : id}${qs ? '?' + qs : ''}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function leaveScreen() {
  const cur = state.current;
  state.current = null;
  if (!cur) return;
  cur.abort.abort();
  for (const off of cur.unsubs) off();
  try { if (cur.def.onLeave) cur.def.onLeave(cur.ctx); } catch (err) { console.error(err); }
}

function makeCtx(def, params, container) {
  const abort = new AbortController();
  const unsubs = [];
  const ctx = {
    root: container, params, user: state.user, store: storeOf(state.settings), settings: state.settings,
    api, newKey, t, fmt, feedback, toast, navigate, lang: lang(),
    get online() { return state.online; },
    hasRole: (r) => hasRole(r),
    back: () => history.back(),
    signal: abort.signal,
    queueAction: (action) => queue.enqueue(action),
    onLive: (kind, fn) => { const off = onLive(kind, fn); unsubs.push(off); return off; },
    resolve: (code) => api.get('/scan/resolve', { code }),
    routeScan: (code) => routeScan(code),
    reportUnknown: (code) => reportUnknown(code),
    setLanguage: (l) => switchLanguage(l, { remote: true }),
    lock: () => lock(),
    logout: () => logout(),
    queue,
  };
  return { ctx, abort, unsubs };
}

async function route() {
  if (!state.user || state.locked) return;
  const { id, params } = parseHash();
  const def = id === 'home' ? HOME : byId.get(id);
  if (!def || !hasRole(def.minRole)) {
    if (def) { toast(t('core.not_allowed'), 'warn'); feedback.warn(); }
    history.replaceState(null, '', '#/');
    return route();
  }
  leaveScreen();
  const main = $('main');
  clear(main);
  const container = h('section', { class: `screen s-${def.id}`, 'data-screen': def.id, 'aria-labelledby': 'title' });
  main.append(container);
  root.dataset.current = def.id;
  $('title').textContent = t(def.titleKey);
  $('nav-back').hidden = def.id === 'home';
  const made = makeCtx(def, params, container);
  state.current = { def, params, ...made };
  try {
    await def.render(made.ctx, params);
  } catch (err) {
    console.error('screen failed', def.id, err);
    container.append(h('div', { class: 'empty error' }, icon('alert', 'icon xl'), h('p', {}, errorText(err)),
      h('button', { class: 'btn', type: 'button', onclick: () => route() }, t('common.retry'))));
  }
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.offline) return t('core.err_offline');
    const k = `core.err_${err.code}`;
    const s = t(k);
    return s === k ? (err.message || t('core.err_generic')) : s;
  }
  return t('core.err_generic');
}

// ---------------------------------------------------------------- home

const HOME = {
  id: 'home',
  titleKey: 'core.home_title',
  minRole: 'associate',
  render(ctx) {
    const u = ctx.user;
    const tiles = SCREENS.filter((s) => s.home !== false && hasRole(s.minRole))
      .sort((a, b) => (a.order ?? 100) - (b.order ?? 100));
    ctx.root.append(
      h('div', { class: 'hello' },
        h('div', {}, h('p', { class: 'muted' }, ctx.store.name || ''),
          h('h2', { 'data-testid': 'hello' }, t('core.hello', { name: u.display_name || u.username }))),
        h('span', { class: `pill role r-${u.role}`, 'data-testid': 'role' }, t(`core.role_${u.role}`))),
      h('div', { class: 'scan-prompt', role: 'note' }, icon('barcode', 'icon xl'),
        h('div', {}, h('strong', {}, t('core.scan_anything')), h('p', {}, t('core.scan_anything_sub')))),
      h('nav', { class: 'tiles', 'aria-label': t('core.home_title') },
        tiles.map((s) => h('a', { class: 'tile', href: `#/${s.id}`, 'data-testid': `tile-${s.id}` },
          icon(s.icon || 'box', 'icon lg'), h('span', {}, t(s.titleKey))))));
  },
};

// ---------------------------------------------------------------- scans

async function onScan(scan) {
  state.lastActivity = Date.now();
  // a real scan while the "type a code" dialog is open replaces the typing
  const manual = document.querySelector('dialog[data-testid="manual-dialog"][open]');
  if (manual && scan.source === 'wedge') manual.close();
  $('last-scan').textContent = t('core.scanned', { code: scan.code.replace(/\x1d/g, '<GS>') });
  if (!state.user || state.locked) {
    if (loginPad) loginPad.clear();
    await doLogin({ badge: badgeFromCode(scan.code) });
    return;
  }
  const cur = state.current;
  if (cur && cur.def.onScan) {
    try {
      if (await cur.def.onScan(scan.code, cur.ctx, scan)) return;
    } catch (err) {
      console.error('onScan failed', err);
      feedback.error();
      toast(errorText(err), 'error');
      return;
    }
  }
  await routeScan(scan.code);
}

export async function routeScan(code) {
  let res;
  try {
    res = await api.get('/scan/resolve', { code });
  } catch (err) {
    if (err.status === 404 && err.code === 'unknown_code') {
      feedback.error();
      reportUnknown(code);
      return;
    }
    const seen = err.offline && recentByGtin(code);
    if (seen) {
      // hub away, but this device has seen the item: open its last known state
      feedback.warn();
      navigate('item', { id: seen.id });
      return;
    }
    feedback.error();
    toast(err.status === 400 ? t('core.invalid_code', { msg: err.message }) : errorText(err), 'error');
    return;
  }
  if (res.kind === 'item' && res.item) {
    feedback.success();
    // what the label itself said (GS1 lot/expiry/serial, weight or price of a variable-measure label)
    const p = res.parsed || {};
    const label = {};
    for (const k of ['lot', 'serial', 'expiry', 'best_before', 'weight_g', 'price_minor']) {
      if (p[k] !== null && p[k] !== undefined && p[k] !== '') label[k] = p[k];
    }
    if (res.weight_g && !label.weight_g) label.weight_g = res.weight_g;
    if (res.qty && res.qty !== 1) label.count = res.qty;
    navigate('item', { id: res.item.id, ...label });
  } else if (res.kind === 'location' && res.location) {
    feedback.success();
    toast(t('core.scanned_location', { code: res.location.code, name: res.location.name || '' }), 'info');
  } else if (res.kind === 'order') {
    if (byId.has('orders') && hasRole(byId.get('orders').minRole)) {
      feedback.success();
      navigate('orders', { ref: res.order_ref });
    } else {
      feedback.warn();
      toast(t('core.scanned_order', { ref: res.order_ref || code }), 'warn');
    }
  } else if (res.kind === 'badge') {
    feedback.warn();
    toast(t('core.scanned_badge'), 'warn');
  } else {
    feedback.error();
    reportUnknown(code);
  }
}

export function reportUnknown(code) {
  const dlg = h('dialog', { class: 'sheet', 'data-testid': 'unknown-dialog', 'aria-labelledby': 'unknown-title' });
  const note = h('input', { id: 'unknown-note', class: 'field', type: 'text', maxlength: 200, 'data-testid': 'unknown-note' });
  const shown = code.replace(/\x1d/g, '<GS>');
  const send = h('button', {
    class: 'btn primary big', type: 'button', 'data-testid': 'unknown-report', onclick: async () => {
      send.disabled = true;
      try {
        await api.post('/unknown-codes', note.value.trim() ? { code, note: note.value.trim() } : { code });
        feedback.success();
        toast(t('core.unknown_reported'), 'success');
        dlg.close();
      } catch (err) {
        send.disabled = false;
        feedback.error();
        toast(errorText(err), 'error');
      }
    },
  }, icon('flag'), t('core.unknown_report'));
  dlg.append(
    h('div', { class: 'sheet-head' }, h('h2', { id: 'unknown-title' }, icon('alert', 'icon lg warn'), t('core.unknown_title'))),
    h('p', { class: 'code-box', 'data-testid': 'unknown-code' }, shown),
    h('p', {}, t('core.unknown_body')),
    h('label', { for: 'unknown-note', class: 'label' }, t('core.unknown_note')), note,
    h('div', { class: 'row gap' }, h('button', { class: 'btn big', type: 'button', onclick: () => dlg.close() }, t('common.close')), send));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  send.focus();
}

// ---------------------------------------------------------------- chrome, toast, language

let toastTimer = null;
export function toast(text, kind = 'info') {
  const el = $('toast');
  el.className = `toast show ${kind}`;
  el.replaceChildren(icon(kind === 'success' ? 'check' : kind === 'info' ? 'barcode' : 'alert'), h('span', {}, text));
  el.dataset.kind = kind;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, kind === 'error' ? 6000 : 3500);
}

function paintChrome() {
  translateDom();
  const logged = !!state.user;
  $('scanbar').hidden = !logged;
  $('btn-camera').hidden = !cameraAvailable();
  paintStatus();
}

async function switchLanguage(l, { remote }) {
  l = normaliseLang(l);
  if (remote) {
    const u = await api.put('/auth/me/language', { language: l });
    state.user = { ...state.user, language: u.language || l };
    saveSession();
  }
  await setLanguage(l, screenIds);
  localStorage.setItem('storehub.lang', l);
  paintChrome();
  if (state.user && !state.locked) route();
}
export { switchLanguage };

// ---------------------------------------------------------------- boot

async function cacheShell() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('sw.js');
    const reg = await navigator.serviceWorker.ready;
    // every screen, both languages' catalogs, and whatever else this page loaded (helper modules, icons)
    const loaded = performance.getEntriesByType('resource').map((e) => new URL(e.name))
      .filter((u) => u.origin === location.origin && !u.pathname.startsWith('/api/')).map((u) => u.pathname.slice(1));
    const urls = [...new Set([
      ...SCREENS.map((s) => `screens/${s.id}.js`),
      ...LANGUAGES.flatMap((l) => ['core', ...screenIds].map((id) => `i18n/${id}.${l}.json`)),
      ...loaded,
    ])];
    if (reg.active) reg.active.postMessage({ type: 'cache-urls', urls });
  } catch (err) {
    console.warn('service worker not registered', String(err));
  }
}

async function boot() {
  installUnlock();
  onReachability(setOnline);
  onUnauthorized(() => {
    // the hub no longer knows this session (expired, revoked elsewhere); a lock already ended it on purpose
    if (state.user && !state.locked && root.dataset.ready === '1') sessionEnded();
  });
  await setLanguage(localStorage.getItem('storehub.lang') || navigator.language, screenIds);
  paintChrome();
  $('nav-back').addEventListener('click', () => history.back());
  $('pending-pill').addEventListener('click', () => navigate('queue'));
  $('btn-manual').addEventListener('click', async () => {
    const code = await manualEntry();
    if (code) onScan({ code, source: 'manual', ms: 0 });
  });
  $('btn-camera').addEventListener('click', async () => {
    const found = await scanWithCamera();
    if (found) onScan({ code: found.code, source: 'camera', ms: 0 });
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('online', ping);
  window.addEventListener('offline', () => setOnline(false));
  window.addEventListener('keydown', (e) => {
    if ((state.locked || !state.user) && pinHandler && !e.defaultPrevented && pinHandler(e)) e.preventDefault();
  });
  createScanner(onScan);
  watchIdle();

  const cached = JSON.parse(localStorage.getItem('storehub.session') || 'null');
  try {
    const me = await api.get('/auth/me');
    state.online = true;
    await startSession(me);
  } catch (err) {
    if (err.offline && cached && cached.user) {
      // Hub unreachable: keep working on the last session; writes queue until it is back.
      state.settings = cached.settings || {};
      state.online = false;
      state.user = cached.user;
      await setLanguage(cached.user.language, screenIds);
      root.dataset.auth = '1';
      paintChrome();
      route();
    } else {
      state.online = !err.offline;
      showLogin();
    }
  }
  await queue.changed();
  paintStatus();
  schedulePing();
  root.dataset.ready = '1';
  cacheShell();
}

boot();
