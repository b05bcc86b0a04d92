// Offline action queue: writes are stored in IndexedDB (with their idempotency key) BEFORE they are sent,
// and replayed strictly in order when the hub is reachable. The hub deduplicates by key, so sending an
// action twice (a lost response, two tabs, a crash between send and delete) never applies it twice.

import { newKey, request } from './api.js';

const DB_NAME = 'storehub';
const STORE = 'actions';
let dbPromise = null;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const os = req.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
        os.createIndex('key', 'key', { unique: true });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const os = t.objectStore(STORE);
    let result;
    Promise.resolve(fn(os)).then((r) => { result = r; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

function reqP(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

export async function allActions() {
  const rows = await tx('readonly', (os) => reqP(os.getAll()));
  return (rows || []).sort((a, b) => a.seq - b.seq);
}

async function put(action) {
  return tx('readwrite', (os) => reqP(os.put(action)));
}

async function remove(seq) {
  return tx('readwrite', (os) => reqP(os.delete(seq)));
}

const RETRYABLE = (err) => err.offline || err.status === 401 || err.status === 0 || err.status >= 500 || err.status === 429;

export function createQueue({ getUser, isOnline, onChange }) {
  const outcomes = new Map(); // key → {state, result?, error?}
  let running = null;

  async function counts() {
    const rows = await allActions();
    return {
      pending: rows.filter((a) => a.state === 'pending').length,
      failed: rows.filter((a) => a.state === 'failed').length,
    };
  }

  async function changed() {
    if (onChange) onChange(await counts());
  }

  function settle(key, outcome) {
    outcomes.set(key, outcome);
  }

  async function replayOnce() {
    const user = getUser();
    if (!user) return 'no_user';
    for (;;) {
      const next = (await allActions()).find((a) => a.state === 'pending' && a.user_id === user.id);
      if (!next) return 'drained';
      try {
        const result = await request(next.method, next.path, { body: next.body });
        await remove(next.seq);
        settle(next.key, { state: 'done', result });
      } catch (err) {
        if (RETRYABLE(err)) {
          next.attempts = (next.attempts || 0) + 1;
          next.last_error = err.code;
          await put(next);
          return err.status === 401 ? 'unauthorized' : 'unreachable';
        }
        next.state = 'failed';
        next.error = { status: err.status, code: err.code, message: err.message, details: err.details };
        await put(next);
        settle(next.key, { state: 'failed', error: next.error });
      }
      await changed();
    }
  }

  /** Replay every pending action of the current user, in order. Safe to call any time, from any tab. */
  function flush() {
    if (running) return running;
    const work = async () => {
      try {
        if (navigator.locks && navigator.locks.request) {
          return await navigator.locks.request('storehub-queue', () => replayOnce());
        }
        return await replayOnce();
      } finally {
        running = null;
        await changed();
      }
    };
    running = work();
    return running;
  }

  /** Store the action, then try to send it. Resolves {state: 'done'|'queued'|'failed', key, result?, error?}. */
  /**
   * `subject` ({item: {id, sku, name_en, name_zh, unit}, qty, loc}) says what the action is about, so the Pending
   * screen can show the item's name (in whatever language is on show then) and the quantity, not an id.
   */
  async function enqueue({ method = 'POST', path, body = {}, label = '', subject = null }) {
    const user = getUser();
    if (!user) throw new Error('enqueue without a user');
    const key = body.idempotency_key || newKey();
    const action = {
      key, method, path, body: { ...body, idempotency_key: key }, label, subject, user_id: user.id,
      created_at: new Date().toISOString(), state: 'pending', attempts: 0,
    };
    await put(action);
    await changed();
    if (!isOnline()) return { state: 'queued', key };
    await flush();
    // a replay already running may have looked for work before this action was stored: run once more
    if (!outcomes.has(key)) await flush();
    const outcome = outcomes.get(key);
    if (outcome) {
      outcomes.delete(key);
      return { key, ...outcome };
    }
    return { state: 'queued', key };
  }

  async function discard(seq) {
    await remove(seq);
    await changed();
  }

  async function retry(seq) {
    const rows = await allActions();
    const a = rows.find((r) => r.seq === seq);
    if (a) {
      a.state = 'pending';
      delete a.error;
      await put(a);
    }
    await changed();
    return flush();
  }

  return { enqueue, flush, counts, discard, retry, all: allActions, changed };
}
