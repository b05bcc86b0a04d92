// Short messages at the bottom of the screen (announced to screen readers), and the words staff read for an
// error the hub or the network gave us.

import { ApiError } from './api.js';
import { h, icon } from './dom.js';
import { errorMessage } from './errors.js';
import { t } from './i18n.js';

let timer = null;

export function toast(text, kind = 'info') {
  const el = document.getElementById('toast');
  el.className = `toast show ${kind}`;
  el.replaceChildren(icon(kind === 'success' ? 'check' : kind === 'info' ? 'barcode' : 'alert'), h('span', {}, text));
  el.dataset.kind = kind;
  clearTimeout(timer);
  timer = setTimeout(() => { el.className = 'toast'; }, kind === 'error' ? 6000 : 3500);
}

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.offline) return t('core.err_offline');
    return errorMessage(err.code, err.details) || err.message || t('core.err_generic');
  }
  return t('core.err_generic');
}

/** The words for a refusal stored earlier (the offline queue keeps {code, message, details}), in today's language. */
export function storedErrorText(e) {
  if (!e) return t('core.err_generic');
  return errorMessage(e.code, e.details) || e.message || e.code || t('core.err_generic');
}
