// Hash routes (#/<screen>?a=1) → the screen mounted in <main> with its ctx. Leaving a screen aborts its
// signal, drops its live subscriptions and calls its onLeave. Screens come from js/screens.js; the home
// screen is the shell's own (js/home.js).

import { api, newKey } from './api.js';
import { clear, closeDialogs, h, icon } from './dom.js';
import { feedback } from './feedback.js';
import { makeFormat } from './format.js';
import { lang, t } from './i18n.js';
import { onLive } from './live.js';
import { HOME } from './home.js';
import { screenById } from './screens.js';
import { hasRole, signedIn, state, storeOf } from './state.js';
import { errorText, toast } from './toast.js';

const root = document.documentElement;
const $ = (id) => document.getElementById(id);
const fmt = makeFormat(lang, () => storeOf(state.settings));
let services = {};

/**
 * What the shell adds to every ctx besides what this module knows itself: the offline queue and the
 * shell actions that live in other modules (routeScan, reportUnknown, setLanguage, lock, logout).
 */
export function provideToScreens(s) {
  services = s;
}

export function parseHash() {
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

export function leaveScreen() {
  const cur = state.current;
  state.current = null;
  if (!cur) return;
  closeDialogs(); // a screen's sheet (receive, short pick…) belongs to it: it must not cover the next screen
  cur.abort.abort();
  for (const off of cur.unsubs) off();
  try { if (cur.def.onLeave) cur.def.onLeave(cur.ctx); } catch (err) { console.error(err); }
}

function makeCtx(params, container) {
  const abort = new AbortController();
  const unsubs = [];
  const { queue, routeScan, reportUnknown, setLanguage, lock, logout } = services;
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
    setLanguage: (l) => setLanguage(l),
    lock: () => lock(),
    logout: () => logout(),
    queue,
  };
  return { ctx, abort, unsubs };
}

/** Mount the screen the address names (home if none; home again if it is unknown or above the user's role). */
export async function route() {
  if (!signedIn()) return;
  const { id, params } = parseHash();
  const def = id === 'home' ? HOME : screenById(id);
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
  const made = makeCtx(params, container);
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
