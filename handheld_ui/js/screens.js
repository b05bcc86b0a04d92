// The screens of this hub. The hub lists them (GET /screens.json → {"screens": [names]}, from its domain
// declarations) and each one is the module handheld_ui/screens/<name>.js. Nobody keeps a list by hand: a
// domain that ships a screen declares it and the handheld picks it up. A screen that fails to load or
// declares itself wrongly is reported on the console and left out; every other screen still works.

export const LIST_URL = 'screens.json';
// What a screen may put in `accepts`: the kinds GET /scan/resolve answers with, or '*' = every scan as it
// was scanned, before the hub is asked (for screens that must keep working while the hub is away).
export const SCAN_KINDS = ['item', 'location', 'order', 'badge'];
export const ANY_SCAN = '*';
const NAME = /^[a-z][a-z0-9_]*$/;

let names = [];
let list = [];
const byId = new Map();

async function fetchNames() {
  const resp = await fetch(LIST_URL);
  if (!resp.ok) throw new Error(`${LIST_URL}: HTTP ${resp.status}`);
  const body = await resp.json();
  if (!body || !Array.isArray(body.screens)) throw new Error(`${LIST_URL}: no "screens" list`);
  return body.screens.filter((n) => {
    if (typeof n === 'string' && NAME.test(n)) return true;
    console.error('screen list: not a screen name', n);
    return false;
  });
}

/** Why a module cannot be used as the screen `name` (empty when it can). */
export function fatalErrors(def, name) {
  if (!def || typeof def !== 'object') return ['no default export'];
  const errs = [];
  if (def.id !== name) errs.push(`id is ${JSON.stringify(def.id)}, must be "${name}" (the file name)`);
  if (typeof def.render !== 'function') errs.push('no render(ctx, params)');
  return errs;
}

/** What is wrong with a screen's scan declaration (`accepts` + `onScan`); empty when nothing is. */
export function scanErrors(def) {
  const accepts = def.accepts ?? [];
  if (!Array.isArray(accepts)) return ['accepts must be a list of scan kinds'];
  const errs = [];
  for (const k of accepts) if (k !== ANY_SCAN && !SCAN_KINDS.includes(k)) errs.push(`accepts an unknown scan kind ${JSON.stringify(k)}`);
  if (accepts.includes(ANY_SCAN) && accepts.length > 1) errs.push(`'${ANY_SCAN}' already takes every scan: list nothing else`);
  if (accepts.length && typeof def.onScan !== 'function') errs.push('accepts scans but has no onScan');
  if (!accepts.length && def.onScan) errs.push('has onScan but accepts no scan kind, so it is never called');
  return errs;
}

/** Load the list and every screen on it, in the hub's order. Call once at boot, before anything routes. */
export async function loadScreens() {
  try {
    names = await fetchNames();
  } catch (err) {
    console.error('screen list not loaded', String(err));
    names = [];
  }
  const loaded = await Promise.allSettled(names.map((n) => import(`../screens/${n}.js`)));
  list = [];
  byId.clear();
  loaded.forEach((r, i) => {
    const name = names[i];
    if (r.status === 'rejected') {
      console.error(`screens/${name}.js not loaded`, String(r.reason));
      return;
    }
    const def = r.value.default;
    const fatal = fatalErrors(def, name);
    if (fatal.length) {
      console.error(`screens/${name}.js left out: ${fatal.join('; ')}`);
      return;
    }
    // a wrong scan declaration only costs the screen its scans (the router checks kinds itself)
    const scan = scanErrors(def);
    if (scan.length) console.error(`screens/${name}.js: ${scan.join('; ')}`);
    list.push(def);
    byId.set(name, def);
  });
  return list;
}

/** The loaded screens, in the hub's order. */
export function screens() {
  return list;
}

export function screenIds() {
  return list.map((s) => s.id);
}

/** Every name the hub listed, loaded or not (the service worker keeps all of them). */
export function listedNames() {
  return names;
}

export function screenById(id) {
  return byId.get(id) || null;
}
