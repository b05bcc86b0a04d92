// String catalogs: i18n/core.<lang>.json for the shell, i18n/errors.<lang>.json for the hub's error codes
// (err.<code>) plus i18n/<screen>.<lang>.json per screen.

export const LANGUAGES = ['en', 'zh-CN'];
const FALLBACK = 'en';
let current = FALLBACK;
let strings = {};
let fallback = {};

export function catalogUrls(screenIds, lang) {
  return ['core', 'errors', ...screenIds].map((id) => `i18n/${id}.${lang}.json`);
}

async function loadAll(screenIds, lang) {
  const parts = await Promise.all(catalogUrls(screenIds, lang).map(async (url) => {
    try {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return await r.json();
    } catch (err) {
      console.warn('catalog not loaded', url, String(err));
      return {};
    }
  }));
  return Object.assign({}, ...parts);
}

export function normaliseLang(lang) {
  if (!lang) return FALLBACK;
  if (LANGUAGES.includes(lang)) return lang;
  return String(lang).toLowerCase().startsWith('zh') ? 'zh-CN' : FALLBACK;
}

export async function setLanguage(lang, screenIds) {
  lang = normaliseLang(lang);
  const [main, fb] = await Promise.all([
    loadAll(screenIds, lang),
    lang === FALLBACK ? Promise.resolve(null) : loadAll(screenIds, FALLBACK),
  ]);
  strings = main;
  fallback = fb || main;
  current = lang;
  document.documentElement.lang = lang;
  return lang;
}

export function lang() {
  return current;
}

/** Whether a catalog (this language or the fallback) has `key` — asking t() for a missing key logs a warning. */
export function has(key) {
  return strings[key] !== undefined || fallback[key] !== undefined;
}

export function t(key, vars) {
  let s = strings[key] ?? fallback[key];
  if (s === undefined) {
    console.warn('missing string', key);
    return key;
  }
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, name) => (vars[name] !== undefined ? String(vars[name]) : m));
  return s;
}

/** Fill every [data-i18n] / [data-i18n-label] element below root (static markup in index.html). */
export function translateDom(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
}
