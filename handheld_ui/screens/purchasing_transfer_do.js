// One transfer between stores. At the sending store: accept, pick (every line as proposed, or less), ship — the
// stock leaves the store into transit. At the receiving store: scan what arrived (items or GS1 carton labels with
// a count; type a number first to take that many), confirm with a reason for each short, over or wrong item, then
// close. Every step carries its own key: offline, steps wait in the queue and are replayed once, never twice.

import { h, icon } from '../js/dom.js';
import { errText } from './purchasing.js';

const REASONS = ['damaged', 'short_shipped', 'over_shipped', 'wrong_item', 'lost_in_transit', 'other'];
const RETRY = (err) => err && (err.offline || err.status === 0 || err.status === 401 || err.status === 429 || err.status >= 500);
let active = null;

export default {
  id: 'purchasing_transfer_do',
  titleKey: 'purchasing_transfer_do.title',
  minRole: 'associate',
  icon: 'truck',
  home: false,
  accepts: ['*'],
  async onScan(code, ctx) {
    if (!active) return false;
    await active(code);
    return true;
  },
  onLeave() { active = null; },
  async render(ctx, params) {
    const { t } = ctx;
    const id = params.id;
    const body = h('div', { class: 'stack', 'data-testid': 'xfer-body' });
    const qty = h('input', { class: 'field', type: 'number', min: '1', inputmode: 'numeric', 'data-testid': 'xfer-qty',
      'aria-label': t('purchasing_transfer_do.qty'), placeholder: t('purchasing_transfer_do.qty') });
    ctx.root.replaceChildren(body);

    async function post(path, extra, label) {
      const b = { ...extra, idempotency_key: ctx.newKey() };
      if (ctx.online) {
        try {
          return await ctx.api.post(path, b);
        } catch (err) {
          if (!RETRY(err)) throw err;
        }
      }
      await ctx.queueAction({ method: 'POST', path, body: b, label });
      ctx.toast(t('purchasing_transfer_do.queued'), 'warn');
      return null;
    }
    async function step(path, extra = {}) {
      try {
        const out = await post(`/purchasing/transfers/${id}/${path}`, extra, t('purchasing_transfer_do.step_label', { step: path }));
        ctx.feedback.success();
        if (out) show(out);
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
    }
    const btn = (key, onclick) => h('button', { type: 'button', class: 'btn primary big', 'data-testid': `xfer-${key}`, onclick },
      icon('check'), t(`purchasing_transfer_do.${key}`));

    function show(x) {
      const lines = x.lines.map((ln) => h('div', { class: 'card row', 'data-testid': 'xfer-line', 'data-sku': ln.sku },
        h('span', { class: 'grow stack' }, h('strong', {}, ln.sku),
          h('span', { class: 'sub' }, t('purchasing_transfer_do.line', { qty: ln.qty, picked: ln.picked, shipped: ln.shipped, received: ln.received }))),
        ...(ln.lots || []).map((l) => h('span', { class: 'pill' }, `${l.lot || '—'} ×${l.qty}`))));
      const scanned = (x.scanned || []).map((s) => h('div', { class: 'row', 'data-testid': 'xfer-scanned' },
        h('span', { class: 'grow' }, s.sku), h('strong', {}, String(s.qty))));
      const disc = (x.discrepancies || []).map((d) => h('p', { class: 'sub', 'data-testid': 'xfer-discrepancy' },
        t(`purchasing_transfer_do.kind.${d.kind}`, { sku: d.sku, qty: d.qty }), ' — ', d.reason));
      const actions = [];
      active = null;
      if (x.side === 'from' && x.status === 'proposed') actions.push(btn('accept', () => step('accept')));
      if (x.side === 'from' && (x.status === 'accepted' || x.status === 'picked')) actions.push(btn('pick', () => step('pick')));
      if (x.side === 'from' && x.status === 'picked') actions.push(btn('ship', () => step('ship')));
      if (x.side === 'to' && x.status === 'shipped') {
        active = async (code) => {
          const n = parseInt(qty.value, 10);
          try {
            const out = await post(`/purchasing/transfers/${id}/scans`, { code, ...(n > 0 ? { qty: n } : {}) },
              t('purchasing_transfer_do.scan_label', { code }));
            qty.value = '';
            if (out) {
              if (out.last && out.last.expected === false) { ctx.feedback.warn(); ctx.toast(t('purchasing_transfer_do.not_on_transfer'), 'warn'); } else ctx.feedback.success();
              show(out);
            }
          } catch (err) {
            ctx.feedback.error();
            ctx.toast(errText(ctx, err), 'error');
          }
        };
        actions.push(h('div', { class: 'scan-prompt', 'data-testid': 'xfer-prompt' }, icon('barcode', 'icon lg'), h('span', {}, t('purchasing_transfer_do.scan'))), qty,
          btn('confirm', () => confirm(x)));
      }
      if (x.side === 'to' && x.status === 'received') actions.push(btn('close', () => step('close')));
      body.replaceChildren(
        h('div', { class: 'row' }, h('strong', { class: 'grow', 'data-testid': 'xfer-route' }, t('purchasing_transfer.route', { from: x.from_store, to: x.to_store })),
          h('span', { class: 'pill', 'data-testid': 'xfer-status' }, t(`purchasing_transfer.status.${x.status}`))),
        ...lines, ...scanned, ...disc, ...actions);
    }

    async function confirm(x) {
      try {
        const out = await post(`/purchasing/transfers/${id}/confirm`, {}, t('purchasing_transfer_do.step_label', { step: 'confirm' }));
        if (out) { ctx.feedback.success(); show(out); }
      } catch (err) {
        if (!err || err.code !== 'transfer_reason_required') { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); return; }
        ctx.feedback.warn();
        const selects = new Map();
        const dlg = h('dialog', { class: 'sheet', 'data-testid': 'xfer-confirm-dialog' });
        const rows = (err.details.discrepancies || []).map((d) => {
          const sel = h('select', { class: 'field', 'data-testid': 'xfer-reason', 'data-sku': d.sku },
            ...REASONS.map((r) => h('option', { value: r }, t(`purchasing_transfer_do.reason.${r}`))));
          selects.set(d.item_id, sel);
          return h('label', { class: 'stack' }, h('span', {}, t(`purchasing_transfer_do.kind.${d.kind}`, { sku: d.sku, qty: d.qty })), sel);
        });
        const go = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'xfer-confirm-go', onclick: async () => {
          const reasons = {};
          for (const [k, sel] of selects) reasons[k] = sel.value;
          dlg.close();
          dlg.remove();
          await step('confirm', { reasons });
        } }, icon('check'), t('purchasing_transfer_do.confirm'));
        dlg.append(h('h2', {}, t('purchasing_transfer_do.discrepancies')), ...rows, go);
        document.body.append(dlg);
        dlg.showModal();
      }
    }

    try {
      show(await ctx.api.get(`/purchasing/transfers/${id}`));
    } catch (err) {
      body.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
    }
  },
};
