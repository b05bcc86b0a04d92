// Receiving one order by scan. Scan carton labels (GS1-128 / DataMatrix: GTIN or case GTIN, count, lot, expiry,
// SSCC) or items; type a number first to receive that many of what the next code names. Every scan carries its own
// key: while the hub is away scans wait in the offline queue and are replayed in order, never counted twice. The
// screen shows what each line still expects (hidden on a blind receipt), refusals in words (lot missing, expired,
// over the order, a code nobody knows — reported to the unknown-codes list by the hub). Confirm lists the
// discrepancies with a reason each, then posts the receipt in one go.

import { h, icon } from '../js/dom.js';
import { errText } from './purchasing.js';

const REASONS = ['short_shipped', 'over_shipped', 'damaged', 'wrong_item', 'substitution', 'expired', 'quality', 'other'];
let active = null;

export default {
  id: 'purchasing_receive',
  titleKey: 'purchasing_receive.title',
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
    let receipt;
    try {
      receipt = await ctx.api.get(`/purchasing/receipts/${id}`);
    } catch (err) {
      ctx.root.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
      return;
    }
    const name = (x) => (ctx.lang === 'zh-CN' ? (x.name_zh || x.name_en) : (x.name_en || x.name_zh)) || x.sku;
    const qtyText = (x, v) => (x.unit === 'kg' ? `${ctx.fmt.number(v / 1000)} kg` : ctx.fmt.number(v));
    const head = h('div', { class: 'row' }, h('strong', { class: 'grow', 'data-testid': 'rcv-po' }, receipt.po_number),
      h('span', { class: 'pill', 'data-testid': 'rcv-mode' }, t(receipt.blind ? 'purchasing_receive.blind' : 'purchasing_receive.open')));
    const supplier = h('p', { class: 'sub' }, `${receipt.supplier.code} · ${receipt.supplier.name}`);
    const count = h('input', { class: 'field', type: 'number', inputmode: 'numeric', min: 1, step: 1, 'data-testid': 'rcv-count',
      placeholder: t('purchasing_receive.count_hint'), 'aria-label': t('purchasing_receive.count_hint') });
    const last = h('div', { class: 'card stack', 'data-testid': 'rcv-last', 'aria-live': 'polite' },
      h('div', { class: 'label' }, t('purchasing_receive.last')), h('strong', {}, t('purchasing_receive.nothing_yet')));
    const refusal = h('div', { class: 'card', role: 'alert', 'data-testid': 'rcv-refusal', hidden: true });
    const queued = h('span', { 'data-testid': 'rcv-queued' }, '0');
    const lines = h('div', { class: 'stack', 'data-testid': 'rcv-lines' });
    const confirmBtn = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'rcv-confirm',
      onclick: () => openConfirm() }, icon('check'), t('purchasing_receive.confirm'));
    const done = h('div', { class: 'card stack', 'data-testid': 'rcv-done', hidden: true });
    ctx.root.replaceChildren(head, supplier,
      h('div', { class: 'scan-prompt' }, icon('barcode', 'icon lg'), h('span', {}, t('purchasing_receive.scan_cartons'))),
      count, refusal, last, h('p', { class: 'sub' }, t('purchasing_receive.queued'), ' ', queued), lines, confirmBtn, done);

    function showLines(r) {
      receipt = r;
      const rows = r.lines.map((ln) => h('div', { class: 'card row', 'data-testid': 'rcv-line', 'data-sku': ln.sku },
        h('span', { class: 'grow stack' }, h('strong', {}, name(ln)), h('span', { class: 'sub' }, ln.sku)),
        h('span', { class: 'stack', style: { textAlign: 'right' } },
          h('span', { 'data-testid': 'rcv-scanned' }, ln.ordered === null ? qtyText(ln, ln.scanned)
            : `${qtyText(ln, ln.scanned)} / ${qtyText(ln, ln.ordered - ln.received_before)}`),
          ln.still_expected === null ? '' : h('span', { class: 'sub', 'data-testid': 'rcv-expected' },
            t('purchasing_receive.still_expected', { n: qtyText(ln, ln.still_expected) })))));
      for (const x of r.not_on_order) {
        rows.push(h('div', { class: 'card row warn', 'data-testid': 'rcv-wrong', 'data-sku': x.sku },
          icon('alert'), h('span', { class: 'grow' }, `${name(x)} · ${t('purchasing_receive.not_on_order')}`),
          h('span', {}, qtyText(x, x.scanned))));
      }
      if (r.ssccs.length) rows.push(h('p', { class: 'sub', 'data-testid': 'rcv-ssccs' }, t('purchasing_receive.pallets', { n: r.ssccs.length })));
      lines.replaceChildren(...rows);
      const closed = r.status !== 'open';
      confirmBtn.hidden = closed;
      count.disabled = closed;
    }
    showLines(receipt);

    // A scan answers only what it changed (the scanned item's line or its not-on-order entry, the pallets'
    // count, the status): merge it into the receipt fetched when the screen opened.
    function merge(res) {
      const r = { ...receipt, status: res.status, lines: receipt.lines, not_on_order: receipt.not_on_order };
      if (res.line) r.lines = receipt.lines.map((x) => (x.item_id === res.line.item_id ? res.line : x));
      if (res.not_on_order) {
        const x0 = res.not_on_order;
        r.not_on_order = receipt.not_on_order.some((x) => x.item_id === x0.item_id)
          ? receipt.not_on_order.map((x) => (x.item_id === x0.item_id ? x0 : x)) : [...receipt.not_on_order, x0];
      }
      if (res.scan.sscc && !receipt.ssccs.includes(res.scan.sscc)) r.ssccs = [...receipt.ssccs, res.scan.sscc];
      return r;
    }

    let chain = Promise.resolve();
    let waiting = 0;
    const RETRY = (err) => err.offline || err.status === 0 || err.status === 401 || err.status === 429 || err.status >= 500;
    function send(path, body, label) {
      const run = async () => {
        const b = { ...body, idempotency_key: ctx.newKey() };
        const pending = document.documentElement.dataset.pending;
        if (ctx.online && (pending === undefined || pending === '0')) {
          try {
            return { state: 'done', result: await ctx.api.post(path, b) };
          } catch (err) {
            if (!RETRY(err)) return { state: 'failed', error: err };
          }
        }
        return ctx.queueAction({ method: 'POST', path, body: b, label });
      };
      const p = chain.then(run, run);
      chain = p.catch(() => {});
      return p;
    }

    function refuse(err) {
      ctx.feedback.error();
      refusal.hidden = false;
      refusal.replaceChildren(icon('alert'), h('span', { 'data-code': err.code || '' }, errText(ctx, err)));
    }

    active = async (code) => {
      if (receipt.status !== 'open') return;
      const n = parseInt(count.value, 10);
      const body = { code };
      if (n > 0) body.count = n;
      count.value = '';
      const out = await send(`/purchasing/receipts/${id}/scans`, body, t('purchasing_receive.queue_label', { po: receipt.po_number }));
      if (out.state === 'done') {
        refusal.hidden = true;
        const s = out.result.scan;
        const r = merge(out.result);
        const ln = [...r.lines, ...r.not_on_order].find((x) => x.item_id === s.item_id);
        const what = s.sscc ? t('purchasing_receive.pallet', { sscc: s.sscc }) : `${ln ? name(ln) : ''} +${ln ? qtyText(ln, s.qty) : s.qty}`;
        last.replaceChildren(h('div', { class: 'label' }, t('purchasing_receive.last')),
          h('strong', { 'data-testid': 'rcv-last-text' }, what),
          s.lot ? h('span', { class: 'sub' }, t('purchasing_receive.lot', { lot: s.lot, expiry: s.expiry || '—' })) : '');
        if (s.on_po === false) { ctx.feedback.warn(); ctx.toast(t('purchasing_receive.not_on_order'), 'warn'); } else ctx.feedback.success();
        showLines(r);
      } else if (out.state === 'failed') {
        refuse(out.error);
      } else {
        waiting += 1;
        queued.textContent = String(waiting);
        ctx.feedback.warn();
      }
    };

    function openConfirm() {
      const items = [];
      for (const ln of receipt.lines) {
        if (ln.discrepancy) items.push({ ...ln, kind: ln.discrepancy });
      }
      for (const x of receipt.not_on_order) items.push({ ...x, kind: 'wrong_item' });
      const selects = new Map();
      const dlg = h('dialog', { class: 'sheet', 'data-testid': 'rcv-confirm-dialog' });
      const rows = items.map((x) => {
        const def = x.kind === 'over' ? 'over_shipped' : x.kind === 'under' ? 'short_shipped' : 'wrong_item';
        const sel = h('select', { class: 'field', 'data-testid': 'rcv-reason', 'data-sku': x.sku },
          ...REASONS.map((r) => h('option', { value: r, selected: r === def }, t(`purchasing_receive.reason.${r}`))));
        selects.set(x.item_id, sel);
        return h('div', { class: 'stack' }, h('strong', {}, `${name(x)} · ${t(`purchasing_receive.kind.${x.kind}`)}`), sel);
      });
      const go = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'rcv-confirm-go', onclick: async () => {
        const reasons = {};
        for (const [k, sel] of selects) reasons[k] = sel.value;
        dlg.close();
        const out = await send(`/purchasing/receipts/${id}/confirm`, { reasons }, t('purchasing_receive.confirm_label', { po: receipt.po_number }));
        if (out.state === 'done') {
          ctx.feedback.success();
          showLines(out.result);
          done.hidden = false;
          done.replaceChildren(icon('check', 'icon lg'), h('strong', {}, t('purchasing_receive.done', { n: out.result.movements.length })),
            h('span', { class: 'sub' }, t(`purchasing.status.${out.result.po_status}`)));
        } else if (out.state === 'failed') {
          refuse(out.error);
        } else {
          ctx.feedback.warn();
          ctx.toast(t('purchasing_receive.confirm_queued'), 'warn');
        }
      } }, icon('check'), t('purchasing_receive.post'));
      dlg.append(h('h2', {}, t('purchasing_receive.confirm_title')),
        items.length ? h('div', { class: 'stack' }, ...rows) : h('p', {}, t('purchasing_receive.no_discrepancy')),
        h('div', { class: 'row' }, h('button', { type: 'button', class: 'btn', onclick: () => dlg.close() }, t('common.cancel')), go));
      document.body.append(dlg);
      dlg.addEventListener('close', () => dlg.remove());
      dlg.showModal();
    }
  },
};
