// Who is logged in. Login by PIN or badge, the session kept on the device for starts without the hub,
// logout, and the end of a session however it comes (logout, "switch user", expired or revoked on the
// hub, the live stream's session_ended). The cookie session and its CSRF token travel with every request
// through js/api.js; this module decides when a session starts and ends. What the screen shows at those
// moments is the shell's business (onSession, wired in js/app.js).

import { api, deviceId, onUnauthorized } from './api.js';
import { closeDialogs } from './dom.js';
import { feedback } from './feedback.js';
import { applyLanguage } from './language.js';
import { lang, normaliseLang, t } from './i18n.js';
import { connectLive, disconnectLive } from './live.js';
import { state } from './state.js';
import { ping, setOnline } from './status.js';
import { toast } from './toast.js';

const SESSION_KEY = 'storehub.session';
const RECENT_KEY = 'storehub.recent';
const root = document.documentElement;
let hooks = { started: () => {}, ended: () => {} };

/** started() after a login or an offline resume (show the work); ended() after a session ends (show login). */
export function onSession({ started, ended }) {
  hooks = { started, ended };
}

function saveSession() {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ user: state.user, settings: state.settings }));
}

/** The last users of this handheld, newest first (offered as chips on the login screen). */
export function recentUsers() {
  return JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
}

function rememberUser(user) {
  const recent = recentUsers().filter((u) => u.username !== user.username);
  recent.unshift({ username: user.username, display_name: user.display_name || user.username });
  localStorage.setItem(RECENT_KEY, JSON.stringify(recent.slice(0, 4)));
}

function liveState(connected, why) {
  if (why === 'session_ended') sessionEnded();
  else if (connected) setOnline(true);
  else ping(); // the stream dropped: find out now whether the hub is gone
}

/** Follow the hub's live events for this session. */
export function goLive() {
  connectLive(liveState);
}

async function startSession(user) {
  state.user = user;
  state.locked = false;
  rememberUser(user);
  try { state.settings = await api.get('/settings'); } catch { /* keep cached settings */ }
  saveSession();
  const l = normaliseLang(user.language);
  if (l !== lang()) await applyLanguage(l);
  localStorage.setItem('storehub.lang', l);
  root.dataset.auth = '1';
  state.lastActivity = Date.now();
  goLive();
  await hooks.started();
}

/** POST /auth/login with {user, pin} or {badge}; false (with a toast saying why) when refused. */
export async function login(body) {
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

/** A scanned staff badge: `SHB-<badge>` or the raw badge, any AIM symbology prefix (`]C0`) dropped. */
export function badgeFromCode(code) {
  let c = code.trim().replace(/^\][A-Za-z][0-9A-Za-z]/, '');
  if (c.startsWith('SHB-')) c = c.slice(4);
  return c;
}

export function loginWithBadge(code) {
  return login({ badge: badgeFromCode(code) });
}

export async function logout() {
  try { await api.post('/auth/logout'); } catch { /* offline: the cookie still goes below */ }
  endSession();
}

export function endSession() {
  disconnectLive();
  closeDialogs();
  state.user = null;
  state.locked = false;
  localStorage.removeItem(SESSION_KEY);
  root.dataset.auth = '0';
  hooks.ended();
}

export function sessionEnded() {
  toast(t('core.session_ended'), 'warn');
  endSession();
}

/**
 * Locking ends the session on the hub when it can be reached: an unattended handheld holds no live session.
 * The user stays known on the device so the same person can unlock with PIN or badge.
 */
export function suspendSession() {
  state.locked = true;
  disconnectLive();
  api.post('/auth/logout').catch(() => {});
}

/** This user's language, kept on the hub (PUT /auth/me/language) and on the device. */
export async function changeLanguage(l) {
  l = normaliseLang(l);
  const u = await api.put('/auth/me/language', { language: l });
  state.user = { ...state.user, language: u.language || l };
  saveSession();
  await applyLanguage(l);
}

/**
 * At boot: the hub's session if it still has one; with the hub away, the last session on this device
 * (writes queue until the hub is back); else nobody (false).
 */
export async function resumeSession() {
  // the hub no longer knows this session (expired, revoked elsewhere); a lock already ended it on purpose
  onUnauthorized(() => {
    if (state.user && !state.locked && root.dataset.ready === '1') sessionEnded();
  });
  const cached = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
  try {
    const me = await api.get('/auth/me');
    state.online = true;
    await startSession(me);
    return true;
  } catch (err) {
    if (err.offline && cached && cached.user) {
      state.settings = cached.settings || {};
      state.online = false;
      state.user = cached.user;
      await applyLanguage(cached.user.language, { render: false });
      root.dataset.auth = '1';
      await hooks.started({ offline: true });
      return true;
    }
    state.online = !err.offline;
    return false;
  }
}
