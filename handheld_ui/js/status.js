// The shell's fixed frame: the online/offline pill, the pill of actions waiting to reach the hub, the offline
// banner and the scan bar — and the health pings that find out when the hub is back.

import { request } from './api.js';
import { cameraAvailable } from './camera.js';
import { h, icon } from './dom.js';
import { t, translateDom } from './i18n.js';
import { state } from './state.js';

const PING_ONLINE_MS = 15000;
const PING_OFFLINE_MS = 2500;
const root = document.documentElement;
const $ = (id) => document.getElementById(id);

let backOnline = () => {};

/** fn() each time the hub answers again after being unreachable (replay the queue, reopen the live stream). */
export function onBackOnline(fn) {
  backOnline = fn;
}

export function setOnline(online) {
  if (state.online === online) return;
  state.online = online;
  paintStatus();
  if (online) backOnline();
}

/** The offline queue's counts changed. */
export function setQueueCounts({ pending, failed }) {
  state.pending = pending;
  state.failed = failed;
  paintStatus();
}

export function paintStatus() {
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

/** Repaint everything outside the screen area (after a login, a logout or a language change). */
export function paintChrome() {
  translateDom();
  $('scanbar').hidden = !state.user;
  $('btn-camera').hidden = !cameraAvailable();
  paintStatus();
}

/** Ask the hub whether it is there; js/api.js reports the answer (or its absence) to setOnline. */
export async function ping() {
  try {
    await request('GET', '/health', { timeout: 4000 });
  } catch { /* reachability already reported */ }
}

/** Ping for ever: every 15 s while the hub answers, every 2.5 s while it does not. */
export function keepPinging() {
  setTimeout(async () => {
    await ping();
    keepPinging();
  }, state.online ? PING_ONLINE_MS : PING_OFFLINE_MS);
}
