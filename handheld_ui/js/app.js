// The handheld shell: boots the app and wires its parts together. Each part has one job —
//   screens.js  the hub's screen list and the screen modules      router.js  hash routes, mounting screens
//   session.js  login, logout, session end                          lock.js    the idle lock
//   login.js    login screen and PIN card                           status.js  online / queue pills, pings
//   scanroute.js  where a scan goes                                 toast.js   short messages
//   language.js   showing a language                                home.js    the home screen
// — and this file only says what happens between them.

import { onReachability } from './api.js';
import { manualEntry, scanWithCamera } from './camera.js';
import { installUnlock } from './feedback.js';
import { LANGUAGES } from './i18n.js';
import { applyLanguage } from './language.js';
import { hideLock, lock, watchIdle } from './lock.js';
import { clearPin, pinKey, showLogin } from './login.js';
import { createQueue } from './queue.js';
import { navigate, provideToScreens, route } from './router.js';
import { createScanner } from './scanner.js';
import { onSignedOutScan, receiveScan, reportUnknown, routeScan } from './scanroute.js';
import { LIST_URL, listedNames, loadScreens } from './screens.js';
import { changeLanguage, goLive, loginWithBadge, logout, onSession, resumeSession } from './session.js';
import { signedIn, state } from './state.js';
import { keepPinging, onBackOnline, paintChrome, paintStatus, ping, setOnline, setQueueCounts } from './status.js';

const $ = (id) => document.getElementById(id);

const queue = createQueue({
  getUser: () => (state.locked ? null : state.user),
  isOnline: () => state.online,
  onChange: setQueueCounts,
});

provideToScreens({ queue, routeScan, reportUnknown, setLanguage: changeLanguage, lock, logout });

onBackOnline(() => {
  queue.flush();
  if (signedIn()) goLive();
});

onSession({
  started: ({ offline = false } = {}) => {
    hideLock();
    if (!offline) queue.flush();
    paintChrome();
    route();
  },
  ended: () => {
    hideLock();
    paintChrome();
    if (location.hash && location.hash !== '#/') history.replaceState(null, '', '#/');
    showLogin();
  },
});

onSignedOutScan((code) => {
  clearPin();
  return loginWithBadge(code);
});

// Ask the service worker to keep what this start used: the screen list, every screen it names, both
// languages' catalogs, and whatever else the page loaded (icons). sw.js precaches the same at install;
// this catches screens a newer hub lists than the one the worker was installed against.
async function cacheShell() {
  if (!('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('sw.js');
    const reg = await navigator.serviceWorker.ready;
    const loaded = performance.getEntriesByType('resource').map((e) => new URL(e.name))
      .filter((u) => u.origin === location.origin && !u.pathname.startsWith('/api/')).map((u) => u.pathname.slice(1));
    const names = listedNames();
    const urls = [...new Set([
      LIST_URL,
      ...names.map((n) => `screens/${n}.js`),
      ...LANGUAGES.flatMap((l) => ['core', ...names].map((id) => `i18n/${id}.${l}.json`)),
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
  await loadScreens();
  await applyLanguage(localStorage.getItem('storehub.lang') || navigator.language, { render: false });
  paintChrome();
  $('nav-back').addEventListener('click', () => history.back());
  $('pending-pill').addEventListener('click', () => navigate('queue'));
  $('btn-manual').addEventListener('click', async () => {
    const code = await manualEntry();
    if (code) receiveScan({ code, source: 'manual', ms: 0 });
  });
  $('btn-camera').addEventListener('click', async () => {
    const found = await scanWithCamera();
    if (found) receiveScan({ code: found.code, source: 'camera', ms: 0 });
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('online', ping);
  window.addEventListener('offline', () => setOnline(false));
  window.addEventListener('keydown', (e) => {
    if (!signedIn() && !e.defaultPrevented && pinKey(e)) e.preventDefault();
  });
  createScanner(receiveScan);
  watchIdle();
  if (!(await resumeSession())) showLogin();
  await queue.changed();
  paintStatus();
  keepPinging();
  document.documentElement.dataset.ready = '1';
  cacheShell();
}

boot();
