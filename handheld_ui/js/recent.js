// The last items this device looked at (kept in localStorage): the item screen shows them when the hub is
// away, the lookup screen lists them and searches them offline.

const KEY = 'storehub.items';
const MAX = 30;

function load() {
  try { return JSON.parse(localStorage.getItem(KEY) || '{}'); } catch { return {}; }
}

export function rememberItem(item) {
  try {
    const all = load();
    all[item.id] = { at: new Date().toISOString(), item };
    const ids = Object.keys(all).sort((a, b) => (all[b].at > all[a].at ? 1 : -1));
    for (const id of ids.slice(MAX)) delete all[id];
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch { /* storage full: not worth failing a screen */ }
}

export function recallItem(id) {
  return load()[id] || null;
}

/** Newest first; with q, only items whose SKU, names or GTINs contain it. */
export function recentItems(q = '', limit = 8) {
  const needle = q.trim().toLowerCase();
  return Object.values(load()).sort((a, b) => (b.at > a.at ? 1 : -1)).map((e) => e.item)
    .filter((it) => !needle || [it.sku, it.name_en, it.name_zh, ...(it.gtins || [])]
      .some((v) => v && String(v).toLowerCase().includes(needle)))
    .slice(0, limit);
}

/** A plain GTIN scan (EAN-8/13, UPC-A, GTIN-14, optionally with an AIM prefix) among the items seen here. */
export function recentByGtin(code) {
  const digits = String(code).trim().replace(/^\][A-Za-z][0-9A-Za-z]/, '');
  if (!/^(\d{8}|\d{12,14})$/.test(digits)) return null;
  const gtin14 = digits.padStart(14, '0');
  const hit = Object.values(load()).find((e) => (e.item.gtins || []).includes(gtin14));
  return hit ? hit.item : null;
}

/** What a queued action keeps of an item to name it later (a pick task carries the same fields). */
export function itemRef(item) {
  return { id: item.item_id || item.id, sku: item.sku, name_en: item.name_en || null, name_zh: item.name_zh || null,
    unit: item.unit || 'each' };
}
