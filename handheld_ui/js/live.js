// Live hub events over Server-Sent Events (/api/v1/events). EventSource reconnects by itself and sends
// Last-Event-ID, so nothing is missed across short drops; we also remember the last id (the stream's first
// "live.hello" event carries its start) so a reconnect after a long outage or a hidden tab resumes from
// there (?after=) instead of from "now". A page reload starts from now: screens load fresh data anyway.

const subs = new Map(); // kind → Set(fn)
let es = null;
let lastId = null;
let stateFn = () => {};
let retryTimer = null;

export function onLive(kind, fn) {
  if (!subs.has(kind)) subs.set(kind, new Set());
  subs.get(kind).add(fn);
  return () => subs.get(kind) && subs.get(kind).delete(fn);
}

function dispatch(ev) {
  let data;
  try { data = JSON.parse(ev.data); } catch { return; }
  lastId = ev.lastEventId || lastId;
  if (data.kind === 'live.hello') return;
  for (const key of [data.kind, '*']) {
    for (const fn of subs.get(key) || []) {
      try { fn(data.payload, data); } catch (err) { console.error('live handler failed', err); }
    }
  }
}

export function connectLive(onState) {
  stateFn = onState || stateFn;
  disconnectLive();
  wanted = true;
  const url = '/api/v1/events' + (lastId ? `?after=${encodeURIComponent(lastId)}` : '');
  es = new EventSource(url, { withCredentials: true });
  es.onopen = () => stateFn(true);
  es.onmessage = dispatch;
  es.addEventListener('session_ended', () => { disconnectLive(); stateFn(false, 'session_ended'); });
  es.onerror = () => {
    stateFn(false);
    if (es && es.readyState === EventSource.CLOSED) {
      // the server refused (e.g. 401): try again later rather than hammering it
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => connectLive(), 5000);
    }
  };
}

// A handheld switched to another app (or screen off) holds no stream; back in front it resumes from the
// last event it saw, so nothing is missed and no hub thread is held meanwhile.
let wanted = false;
document.addEventListener('visibilitychange', () => {
  if (document.hidden && es) {
    es.close();
    es = null;
  } else if (!document.hidden && wanted && !es) {
    connectLive();
  }
});

export function disconnectLive() {
  wanted = false;
  clearTimeout(retryTimer);
  if (es) {
    es.close();
    es = null;
  }
}
