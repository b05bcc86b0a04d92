// The words for an error the hub answered with, in the user's language: the hub sends a machine `code` and
// `details` (its `message` is English, for logs and the command line); the app shows `err.<code>` from
// i18n/errors.<lang>.json with {placeholders} filled from `details`. tests/handheld/test_error_texts.py fails
// when a code the hub can raise has no text, so the hub's English only shows for a code newer than this app.

import { has, t } from './i18n.js';

// A details value that is itself a word (an order status, a role) is shown in the user's language too.
function word(v) {
  if (typeof v === 'string') return has(`err.value.${v}`) ? t(`err.value.${v}`) : v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(word).join(', ');
  return undefined;
}

/** The user's-language text for error `code` with `details`, or null when this app has no words for it. */
export function errorMessage(code, details) {
  const key = `err.${code}`;
  if (!code || !has(key)) return null;
  const vars = {};
  if (details && typeof details === 'object' && !Array.isArray(details)) {
    for (const [k, v] of Object.entries(details)) {
      const w = word(v);
      if (w !== undefined) vars[k] = w;
    }
    // "cannot read this code" says why, in words (details.reason is the reader's own error code)
    if (typeof details.reason === 'string' && has(`err.${details.reason}`)) vars.reason = errorMessage(details.reason, null);
  }
  const text = t(key, vars);
  if (!/\{\w+\}/.test(text)) return text;
  // a raise site without the parameters this wording needs: the plain variant (the catalog test requires one)
  return has(`${key}.short`) ? t(`${key}.short`) : null;
}
