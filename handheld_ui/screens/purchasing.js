// Receiving: the orders waiting for goods (approved, sent, partly received), filtered by supplier. Tap one — or
// scan the order's number (PO-…) from the delivery note — to start receiving it (or join the receiving already
// open on another handheld). "Blind" hides what the order expects until the receipt is confirmed.

import { h, icon } from '../js/dom.js';

const PO_CODE = /^PO-\d{6,}$/i;

export function errText(ctx, err) {
  if (err && err.offline) return ctx.t('core.err_offline');
  const key = `err.${err && err.code}`;
  const text = err && err.code ? ctx.t(key, err.details || {}) : '';
  return text && text !== key ? text : (err && err.message) || ctx.t('core.err_generic');
}

let current = null;

export default {
  id: 'purchasing',
  titleKey: 'purchasing.title',
  minRole: 'associate',
  icon: 'truck',
  order: 106,
  accepts: ['*'],
  async onScan(code, ctx) {
    const text = code.trim();
    if (!PO_CODE.test(text) || !current) return false;
    await current.open({ po_number: text.toUpperCase() });
    return true;
  },
  onLeave() { current = null; },
  async render(ctx) {
    const { t } = ctx;
    const supplierSel = h('select', { class: 'field', 'data-testid': 'po-supplier', 'aria-label': t('purchasing.supplier') },
      h('option', { value: '' }, t('purchasing.all_suppliers')));
    const blind = h('input', { type: 'checkbox', 'data-testid': 'po-blind', id: 'po-blind' });
    const list = h('div', { class: 'stack', 'data-testid': 'po-list', 'aria-live': 'polite' });
    ctx.root.replaceChildren(
      h('div', { class: 'scan-prompt', 'data-testid': 'po-prompt' }, icon('barcode', 'icon lg'), h('span', {}, t('purchasing.scan_po'))),
      supplierSel,
      h('label', { class: 'row', for: 'po-blind' }, blind, h('span', {}, t('purchasing.blind'))),
      list);

    async function open(which) {
      try {
        const r = await ctx.api.post('/purchasing/receipts', { ...which, blind: blind.checked, idempotency_key: ctx.newKey() });
        ctx.feedback.success();
        ctx.navigate('purchasing_receive', { id: r.id });
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
    }
    current = { open };

    async function load() {
      try {
        const q = { status: 'approved,sent,partly_received', limit: 100 };
        if (supplierSel.value) q.supplier_id = supplierSel.value;
        const page = await ctx.api.get('/purchasing/orders', q);
        list.replaceChildren(...(page.items.length ? page.items.map((po) => h('button', {
          type: 'button', class: 'card row', 'data-testid': 'po-row', 'data-number': po.number,
          onclick: () => open({ po_id: po.id }),
        }, icon('truck', 'icon lg'), h('span', { class: 'grow stack' },
          h('strong', {}, po.number), h('span', { class: 'sub' }, `${po.supplier_code} · ${po.supplier_name}`),
          h('span', { class: 'sub' }, t('purchasing.expected_on', { date: po.expected_date || '—' }))),
        h('span', { class: 'pill' }, t(`purchasing.status.${po.status}`)))) : [h('p', { class: 'muted' }, t('purchasing.none'))]));
      } catch (err) {
        list.replaceChildren(h('p', { class: 'empty error' }, errText(ctx, err)));
      }
    }
    try {
      const sups = await ctx.api.get('/purchasing/suppliers', { active: true });
      for (const s of sups.items) supplierSel.append(h('option', { value: s.id }, `${s.code} · ${s.name}`));
    } catch (err) {
      ctx.toast(errText(ctx, err), 'error');
    }
    supplierSel.addEventListener('change', () => load());
    await load();
  },
};
