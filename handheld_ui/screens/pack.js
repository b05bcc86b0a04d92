// Packing: scan the order code, scan every item into the parcel (checked against what was picked),
// then pack — the hub prints the pack label and the customer receipt — and put it on the ready shelf.

import { h, icon } from '../js/dom.js';
import { pager } from '../js/pager.js';
import { errText } from './pick.js';

let handler = null;

export default {
  id: 'pack',
  titleKey: 'pack.title',
  minRole: 'associate',
  icon: 'box',
  order: 32,
  accepts: ['order', 'item'],
  async render(ctx, params) {
    const { t } = ctx;
    const st = { order: null, busy: false };
    const box = h('div', { class: 'stack', 'data-testid': 'pack-body' });
    ctx.root.append(box);

    const name = (ln) => (ctx.lang === 'zh-CN' ? ln.name_zh || ln.name_en : ln.name_en || ln.name_zh) || ln.sku;

    // No order open yet: the scan prompt and the orders waiting to be packed (picked), oldest picks first on the
    // hub's pages, each one tap away (or scan its code on the tote).
    async function drawEmpty(offset = 0) {
      const waiting = h('div', { class: 'card', 'data-testid': 'pack-waiting', 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('pack.loading')));
      box.replaceChildren(h('div', { class: 'scan-prompt', 'data-testid': 'pack-prompt' }, icon('barcode', 'icon lg'), t('pack.scan_order')), waiting);
      let page;
      try {
        page = await ctx.api.get('/orders', { status: 'picked', limit: 20, offset });
      } catch (err) {
        waiting.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
        return;
      }
      if (ctx.signal.aborted || st.order) return;
      if (!page.items.length) {
        waiting.replaceChildren(h('div', { class: 'empty', 'data-testid': 'pack-waiting-none' }, icon('box', 'icon xl'), h('p', {}, t('pack.none_waiting'))));
        return;
      }
      waiting.replaceChildren(...[
        h('h3', { 'data-testid': 'pack-waiting-count' }, t('pack.waiting', { n: page.total })),
        h('ul', { class: 'list' }, page.items.map((o) => h('li', {},
          h('button', { type: 'button', class: 'list-btn', 'data-testid': 'pack-waiting-row', onclick: () => open(`/orders/${o.id}`) },
            icon('box', 'icon lg'),
            h('span', { class: 'grow' }, h('strong', {}, o.code),
              h('div', { class: 'sub' }, [o.customer_name, t(`pack.fulfil_${o.fulfilment}`)].filter(Boolean).join(' · '))),
            icon('chevron'))))),
        pager(page, (next) => drawEmpty(next), 'pack-pager'),
      ].filter(Boolean));
    }

    async function open(path) {
      try {
        const o = await ctx.api.get(path);
        st.order = o;
        ctx.feedback.success();
        draw();
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(err.code === 'order_not_found' ? t('pack.no_order') : errText(ctx, err), 'error');
      }
    }

    function draw() {
      const o = st.order;
      const pack = o.pack;
      const head = h('div', { class: 'card stack' },
        h('div', { class: 'row' }, h('strong', { class: 'grow', 'data-testid': 'pack-ref' }, o.code),
          h('span', { class: 'pill', 'data-testid': 'pack-status' }, t(`pack.status_${o.status}`))),
        h('div', { class: 'sub' }, [o.customer_name, t(`pack.fulfil_${o.fulfilment}`)].filter(Boolean).join(' · ')));
      const parts = [head];
      if (o.status === 'picked') {
        parts.push(h('div', { class: 'scan-prompt', 'data-testid': 'pack-prompt' }, icon('barcode', 'icon lg'),
          pack.complete ? t('pack.all_scanned') : t('pack.scan_items')));
        parts.push(h('ul', { class: 'card list', 'data-testid': 'pack-lines' }, pack.lines.map((ln) => h('li', { class: 'row', 'data-testid': 'pack-line' },
          icon(ln.verified ? 'check' : 'box', 'icon lg'),
          h('span', { class: 'grow' }, h('strong', {}, name(ln)), h('div', { class: 'sub' }, ln.sku)),
          h('span', { class: 'num' }, ln.unit === 'kg' ? ctx.fmt.qty(ln.qty_picked, 'kg') : `${ln.qty_packed}/${ln.qty_picked}`)))));
        parts.push(h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'pack-go', disabled: !pack.complete, onclick: doPack },
          icon('printer'), t('pack.pack_print')));
      } else if (o.status === 'packed') {
        parts.push(printList(o));
        parts.push(h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'pack-ready', onclick: doReady }, icon('check'), t('pack.ready')));
        parts.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'pack-reprint', onclick: doReprint }, icon('printer'), t('pack.reprint')));
      } else {
        parts.push(h('p', { class: 'muted', 'data-testid': 'pack-not-now' }, t('pack.not_packable', { status: t(`pack.status_${o.status}`) })));
        if (o.print_jobs && o.print_jobs.length) parts.push(printList(o));
      }
      box.replaceChildren(...parts);
    }

    function printList(o) {
      return h('ul', { class: 'card list', 'data-testid': 'pack-prints' }, (o.print_jobs || []).map((j) => h('li', { class: 'row' },
        icon('printer'), h('span', { class: 'grow' }, t(`pack.doc_${j.document}`)),
        h('span', { class: 'pill', 'data-testid': 'pack-print-status' }, t(`pack.print_${j.status || 'pending'}`)))));
    }

    async function refresh() { await open(`/orders/${st.order.id}`); }

    async function doPack() {
      if (st.busy) return;
      st.busy = true;
      try {
        await ctx.api.post(`/orders/${st.order.id}/pack`, {});
        ctx.toast(t('pack.printing'), 'success');
        await refresh();
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
      st.busy = false;
    }

    async function doReady() {
      try {
        await ctx.api.post(`/orders/${st.order.id}/ready`, {});
        ctx.toast(t('pack.is_ready', { ref: st.order.ref }), 'success');
        await refresh();
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
    }

    async function doReprint() {
      try {
        await ctx.api.post(`/orders/${st.order.id}/print`, {});
        ctx.toast(t('pack.printing'), 'success');
        await refresh();
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
    }

    async function scanItem(code) {
      if (st.busy) return;
      st.busy = true;
      try {
        await ctx.api.post(`/orders/${st.order.id}/pack/scan`, { code, client_key: ctx.newKey() });
        ctx.feedback.success();
        await refresh();
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
      st.busy = false;
    }

    handler = (code, kind, res) => {
      if (kind === 'order') { open(`/orders/by-code/${encodeURIComponent('SHO-' + res.order_ref)}`); return true; }
      if (!st.order) { ctx.feedback.warn(); ctx.toast(t('pack.scan_order'), 'warn'); return true; }
      if (st.order.status !== 'picked') { ctx.feedback.warn(); ctx.toast(t('pack.not_packable', { status: t(`pack.status_${st.order.status}`) }), 'warn'); return true; }
      scanItem(code.trim());
      return true;
    };
    ctx.onLive('device.command_result', () => { if (st.order && st.order.status !== 'picked') refresh(); });
    ctx.onLive('order.status', () => { if (!st.order) drawEmpty(); });
    if (params.id) await open(`/orders/${params.id}`);
    else await drawEmpty();
  },
  onScan(code, ctx, scan) {
    return handler ? handler(code, scan.kind, scan.resolved) : false;
  },
  onLeave() {
    handler = null;
  },
};
