// Where a scan goes.
//
// Nobody signed in (login or lock screen): every scan is a staff badge. Otherwise the screen on show gets
// the scan when it declared the scan's kind in `accepts` and its onScan returns true; every other scan gets
// the shell's default: item → the item screen, location → a note, order → the orders screen (when there is
// one the user may open), badge → a note, a code the hub does not know → the "report" sheet.
//
// The kind comes from the hub (GET /scan/resolve), asked once per scan; the screen receives the answer in
// scan.resolved. A screen that accepts '*' gets every scan as scanned, before the hub is asked: that is how
// counting and picking keep working while the hub is away.

import { api } from './api.js';
import { h, icon } from './dom.js';
import { feedback } from './feedback.js';
import { t } from './i18n.js';
import { recentByGtin } from './recent.js';
import { navigate } from './router.js';
import { ANY_SCAN, screenById } from './screens.js';
import { hasRole, signedIn, state } from './state.js';
import { errorText, toast } from './toast.js';

let signedOut = async () => {};

/** fn(code) for a scan while nobody is signed in (the badge login). */
export function onSignedOutScan(fn) {
  signedOut = fn;
}

/** A scan from the wedge, the camera or manual entry: {code, source: 'wedge'|'camera'|'manual', ms}. */
export async function receiveScan(scan) {
  state.lastActivity = Date.now();
  // a real scan while the "type a code" dialog is open replaces the typing
  const manual = document.querySelector('dialog[data-testid="manual-dialog"][open]');
  if (manual && scan.source === 'wedge') manual.close();
  document.getElementById('last-scan').textContent = t('core.scanned', { code: scan.code.replace(/\x1d/g, '<GS>') });
  if (!signedIn()) {
    await signedOut(scan.code);
    return;
  }
  await dispatchScan(scan);
}

function accepts(cur, kind) {
  if (!cur || typeof cur.def.onScan !== 'function' || !Array.isArray(cur.def.accepts)) return false;
  return cur.def.accepts.includes(kind);
}

// true when the screen took the scan (or failed on it: the error is shown, nothing else happens)
async function handOver(cur, scan) {
  try {
    return !!(await cur.def.onScan(scan.code, cur.ctx, scan));
  } catch (err) {
    console.error('onScan failed', cur.def.id, err);
    feedback.error();
    toast(errorText(err), 'error');
    return true;
  }
}

async function resolveCode(code) {
  try {
    return { res: await api.get('/scan/resolve', { code }), err: null };
  } catch (err) {
    return { res: null, err };
  }
}

/** A signed-in scan: to the screen on show if it accepts the scan's kind, else the shell's default. */
export async function dispatchScan(scan) {
  if (accepts(state.current, ANY_SCAN) && await handOver(state.current, scan)) return;
  const found = await resolveCode(scan.code);
  // the screen may have changed while the hub answered: the one on show now decides
  const cur = state.current;
  const kind = found.res && found.res.kind;
  if (kind && accepts(cur, kind) && await handOver(cur, { ...scan, kind, resolved: found.res })) return;
  defaultRoute(scan.code, found);
}

/** The shell's default for a code (ctx.routeScan): ask the hub what it is and act on it. */
export async function routeScan(code) {
  defaultRoute(code, await resolveCode(code));
}

function defaultRoute(code, { res, err }) {
  if (err) {
    if (err.status === 404 && err.code === 'unknown_code') {
      feedback.error();
      reportUnknown(code);
      return;
    }
    const seen = err.offline && recentByGtin(code);
    if (seen) {
      // hub away, but this device has seen the item: open its last known state
      feedback.warn();
      navigate('item', { id: seen.id });
      return;
    }
    feedback.error();
    toast(err.status === 400 ? t('core.invalid_code', { msg: err.message }) : errorText(err), 'error');
    return;
  }
  if (res.kind === 'item' && res.item) {
    feedback.success();
    // what the label itself said (GS1 lot/expiry/serial, weight or price of a variable-measure label)
    const p = res.parsed || {};
    const label = {};
    for (const k of ['lot', 'serial', 'expiry', 'best_before', 'weight_g', 'price_minor']) {
      if (p[k] !== null && p[k] !== undefined && p[k] !== '') label[k] = p[k];
    }
    if (res.weight_g && !label.weight_g) label.weight_g = res.weight_g;
    if (res.qty && res.qty !== 1) label.count = res.qty;
    navigate('item', { id: res.item.id, ...label });
  } else if (res.kind === 'location' && res.location) {
    feedback.success();
    toast(t('core.scanned_location', { code: res.location.code, name: res.location.name || '' }), 'info');
  } else if (res.kind === 'order') {
    const orders = screenById('orders');
    if (orders && hasRole(orders.minRole)) {
      feedback.success();
      navigate('orders', { ref: res.order_ref });
    } else {
      feedback.warn();
      toast(t('core.scanned_order', { ref: res.order_ref || code }), 'warn');
    }
  } else if (res.kind === 'badge') {
    feedback.warn();
    toast(t('core.scanned_badge'), 'warn');
  } else {
    feedback.error();
    reportUnknown(code);
  }
}

/** The "unknown code" sheet: shows the code and lets staff report it (POST /unknown-codes) with a note. */
export function reportUnknown(code) {
  const dlg = h('dialog', { class: 'sheet', 'data-testid': 'unknown-dialog', 'aria-labelledby': 'unknown-title' });
  const note = h('input', { id: 'unknown-note', class: 'field', type: 'text', maxlength: 200, 'data-testid': 'unknown-note' });
  const shown = code.replace(/\x1d/g, '<GS>');
  const send = h('button', {
    class: 'btn primary big', type: 'button', 'data-testid': 'unknown-report', onclick: async () => {
      send.disabled = true;
      try {
        await api.post('/unknown-codes', note.value.trim() ? { code, note: note.value.trim() } : { code });
        feedback.success();
        toast(t('core.unknown_reported'), 'success');
        dlg.close();
      } catch (err) {
        send.disabled = false;
        feedback.error();
        toast(errorText(err), 'error');
      }
    },
  }, icon('flag'), t('core.unknown_report'));
  dlg.append(
    h('div', { class: 'sheet-head' }, h('h2', { id: 'unknown-title' }, icon('alert', 'icon lg warn'), t('core.unknown_title'))),
    h('p', { class: 'code-box', 'data-testid': 'unknown-code' }, shown),
    h('p', {}, t('core.unknown_body')),
    h('label', { for: 'unknown-note', class: 'label' }, t('core.unknown_note')), note,
    h('div', { class: 'row gap' }, h('button', { class: 'btn big', type: 'button', onclick: () => dlg.close() }, t('common.close')), send));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  send.focus();
}
