// The hub API over the cookie session: CSRF header, device id, JSON errors, reachability.

import { errorMessage } from './errors.js';

export const API = '/api/v1';
const TIMEOUT_MS = 8000;

/**
 * An error answer. `message` is what staff read: the hub's code in the user's language (js/errors.js), or the
 * hub's own (English) message for a code this app has no words for; `hubMessage` keeps the hub's text.
 */
export class ApiError extends Error {
  constructor({ status = 0, code = 'network_error', message = '', details = null, offline = false } = {}) {
    const text = offline ? null : errorMessage(code, details);
    super(text || message || code);
    this.status = status;
    this.code = code;
    this.details = details;
    this.offline = offline;
    this.hubMessage = message;
  }
}

export function deviceId() {
  let id = localStorage.getItem('storehub.device');
  if (!id) {
    const rnd = crypto.getRandomValues(new Uint8Array(5));
    id = 'hh-' + Array.from(rnd, (b) => b.toString(16).padStart(2, '0')).join('');
    localStorage.setItem('storehub.device', id);
  }
  return id;
}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)storehub_csrf=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

const listeners = new Set();
/** fn(reachable: boolean) after every request that reached / failed to reach the hub. */
export function onReachability(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function report(reachable) {
  for (const fn of listeners) fn(reachable);
}

let unauthorized = () => {};
/** fn() when the hub answers 401 to anything but a login: the session expired or was revoked. */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID()
    : 'k-' + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function request(method, path, { body, query, timeout = TIMEOUT_MS } = {}) {
  let url = API + path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, v);
    const s = qs.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { Accept: 'application/json', 'X-Device-Id': deviceId() };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  let resp;
  try {
    resp = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin', cache: 'no-store', signal: ctl.signal,
    });
  } catch (err) {
    report(false);
    throw new ApiError({ code: 'hub_unreachable', message: String(err && err.message || err), offline: true });
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  let text = '';
  try {
    text = await resp.text();
  } catch (err) {   // the connection dropped while the body came: the hub went away mid-answer
    report(false);
    throw new ApiError({ status: resp.status, code: 'hub_unreachable', message: String(err && err.message || err), offline: true });
  }
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  // A 502/503/504 without the hub's JSON error comes from something in front of the hub (proxy, gateway): the
  // hub is unreachable. The hub's own 503 (a payment provider or card terminal offline, a setting) carries
  // {"error": {"code": …}}: that is an answer, shown as its error text like any other.
  const hubError = data && typeof data === 'object' && data.error && typeof data.error.code === 'string';
  if (resp.status >= 502 && resp.status <= 504 && !hubError) {
    report(false);
    throw new ApiError({ status: resp.status, code: 'hub_unreachable', offline: true });
  }
  report(true);
  if (!resp.ok) {
    const e = (data && data.error) || {};
    if (resp.status === 401 && path !== '/auth/login') unauthorized();
    throw new ApiError({ status: resp.status, code: e.code || `http_${resp.status}`, message: e.message || '', details: e.details });
  }
  return data;
}

export const api = {
  get: (path, query) => request('GET', path, { query }),
  post: (path, body) => request('POST', path, { body: body ?? {} }),
  put: (path, body) => request('PUT', path, { body: body ?? {} }),
  patch: (path, body) => request('PATCH', path, { body: body ?? {} }),
  del: (path) => request('DELETE', path),
};
