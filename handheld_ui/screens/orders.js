// Customer orders: the open orders by state, one order's detail (opened by scanning its SHO- code anywhere),
// and its next step — pack, ready, hand over to the customer / courier, cancel (supervisors).

import { h, icon } from '../js/dom.js';
import { pager } from '../js/pager.js';
import { errText } from './pick.js';

const FILTERS = ['open', 'allocated', 'picking', 'picked', 'packed', 'ready', 'backordered', 'new'];
const OPEN = ['new', 'backordered', 'allocated', 'picking', 'picked', 'packed', 'ready'];
const PAGE = 30;

let handler = null;

export default {
  id: 'orders',
  titleKey: 'orders.title',
  minRole: 'associate',
  icon: 'truck',
  order: 34,
  accepts: ['order'],
  async render(ctx, params) {
    const { t } = ctx;
    const st = { filter: 'open', order: null, offset: 0 };
    const statusText = (s) => t(`pack.status_${s}`);

    async function showList() {
      st.order = null;
      const alertBox = h('div', { 'data-testid': 'orders-alerts-banner' });
      const chips = h('div', { class: 'chips', role: 'group', 'aria-label': t('orders.filter') }, FILTERS.map((f) => h('button', {
        type: 'button', class: 'chip', 'aria-pressed': String(st.filter === f), 'data-testid': `orders-filter-${f}`,
        onclick: () => { st.filter = f; st.offset = 0; showList(); },
      }, f === 'open' ? t('orders.open') : statusText(f))));
      const listBox = h('div', { class: 'card', 'data-testid': 'orders-list' }, h('p', { class: 'muted' }, t('orders.loading')));
      const tools = ctx.hasRole('supervisor') && st.filter === 'backordered'
        ? h('button', { type: 'button', class: 'btn', 'data-testid': 'orders-retry', onclick: retryBackorders }, icon('sync'), t('orders.retry_backorders'))
        : null;
      // replaceChildren() would print a null (no tools for this role or filter) as the text "null": filter it out
      ctx.root.replaceChildren(...[h('div', { class: 'scan-prompt' }, icon('barcode', 'icon lg'), t('orders.scan_hint')),
        alertBox, chips, tools, listBox].filter(Boolean));
      try {
        const alerts = await ctx.api.get('/orders/alerts');
        if (alerts.items.length && ctx.hasRole('supervisor')) {
          alertBox.replaceChildren(h('button', { type: 'button', class: 'btn', 'data-testid': 'orders-alerts-open', onclick: () => ctx.navigate('orders_alerts') },
            icon('clock'), t('orders.alerts', { n: alerts.items.length })));
        }
        // the hub filters and counts ("open" included), so the count and the pages are the whole list's
        const q = st.filter === 'open' ? { open: true } : { status: st.filter };
        const page = await ctx.api.get('/orders', { ...q, limit: PAGE, offset: st.offset });
        if (ctx.signal.aborted) return;
        if (!page.items.length) {
          listBox.replaceChildren(h('div', { class: 'empty', 'data-testid': 'orders-none' }, icon('truck', 'icon xl'), h('p', {}, t('orders.none'))));
          return;
        }
        listBox.replaceChildren(...[
          h('h3', { 'data-testid': 'orders-count' }, t('orders.count', { n: page.total })),
          h('ul', { class: 'list' }, page.items.map((o) => h('li', {},
            h('button', { type: 'button', class: 'list-btn', 'data-testid': 'orders-row', onclick: () => showOrder(`/orders/${o.id}`) },
              h('span', { class: 'grow' }, h('strong', {}, o.code), h('div', { class: 'sub' }, `${o.customer_name || '—'} · ${t(`orders.ch_${o.channel}`)}`)),
              h('span', { class: 'pill' }, statusText(o.status)), icon('chevron'))))),
          pager(page, (offset) => { st.offset = offset; showList(); }, 'orders-pager'),
        ].filter(Boolean));
      } catch (err) {
        listBox.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
      }
    }

    async function showOrder(path) {
      let o;
      try {
        o = await ctx.api.get(path);
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(err.code === 'order_not_found' ? t('orders.not_found') : errText(ctx, err), 'error');
        return;
      }
      st.order = o;
      const lines = h('ul', { class: 'list' }, o.lines.filter((ln) => ln.status !== 'cancelled').map((ln) => h('li', { class: 'row' },
        h('span', { class: 'grow' }, h('strong', {}, (ctx.lang === 'zh-CN' ? ln.name_zh || ln.name_en : ln.name_en || ln.name_zh) || ln.sku),
          h('div', { class: 'sub' }, ln.sku)),
        h('span', { class: 'num' }, ctx.fmt.qty(['picked', 'short'].includes(ln.status) ? ln.qty_picked : ln.qty, ln.unit)))));
      const actions = [];
      if (o.status === 'picked' || o.status === 'packed') {
        actions.push(h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'orders-to-pack', onclick: () => ctx.navigate('pack', { id: o.id }) },
          icon('box'), t('orders.to_pack')));
      }
      if (o.status === 'ready') {
        actions.push(h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'orders-handover', onclick: () => handover(o) },
          icon('check'), t(o.fulfilment === 'pickup' ? 'orders.handover_customer' : 'orders.handover_courier')));
      }
      if (o.review_status === 'pending' && ctx.hasRole('supervisor')) {
        actions.push(h('div', { class: 'card stack', 'data-testid': 'orders-review' },
          h('strong', {}, t('orders.review_needed')),
          h('div', { class: 'sub' }, o.review_reasons.map((r) => t(`orders.reason_${r}`)).join(' · ')),
          h('button', { type: 'button', class: 'btn primary', 'data-testid': 'orders-approve', onclick: () => decide(o, 'approve') },
            icon('check'), t('orders.approve')),
          h('button', { type: 'button', class: 'btn', 'data-testid': 'orders-reject', onclick: () => decide(o, 'reject') },
            icon('x'), t('orders.reject'))));
      }
      if (OPEN.includes(o.status) && ctx.hasRole('supervisor')) {
        actions.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'orders-cancel', onclick: () => cancel(o) }, icon('x'), t('orders.cancel')));
      }
      ctx.root.replaceChildren(
        h('div', { class: 'card stack', 'data-testid': 'orders-detail' },
          h('div', { class: 'row' }, h('strong', { class: 'grow', 'data-testid': 'orders-code' }, o.code),
            h('span', { class: 'pill', 'data-testid': 'orders-status' }, statusText(o.status))),
          h('div', { class: 'kv' },
            h('span', { class: 'muted' }, t('orders.customer')), h('span', {}, [o.customer_name, o.customer_phone].filter(Boolean).join(' ') || '—'),
            h('span', { class: 'muted' }, t('orders.channel')), h('span', {}, t(`orders.ch_${o.channel}`) + (o.external_id ? ` · ${o.external_id}` : '')),
            h('span', { class: 'muted' }, t('orders.total')), h('span', { class: 'num' }, ctx.fmt.money(o.total_minor)),
            o.refund_due_minor ? h('span', { class: 'muted' }, t('orders.refund_due')) : null,
            o.refund_due_minor ? h('span', { class: 'num', 'data-testid': 'orders-refund' }, ctx.fmt.money(o.refund_due_minor)) : null)),
        h('div', { class: 'card' }, lines),
        ...actions,
        h('button', { type: 'button', class: 'btn', 'data-testid': 'orders-back', onclick: () => showList() }, icon('back'), t('orders.all')));
    }

    async function handover(o) {
      try {
        await ctx.api.post('/orders/handover', { code: o.code });
        ctx.feedback.success();
        ctx.toast(t('orders.handed_over', { ref: o.ref }), 'success');
        await showOrder(`/orders/${o.id}`);
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
    }

    async function decide(o, decision) {
      try {
        await ctx.api.post(`/orders/${o.id}/review`, { decision, note: ctx.user.display_name || '' });
        ctx.feedback.success();
        await showOrder(`/orders/${o.id}`);
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
    }

    async function retryBackorders() {
      try {
        const r = await ctx.api.post('/orders/backorders/retry', {});
        ctx.toast(t('orders.retried', { n: r.allocated.length }), r.allocated.length ? 'success' : 'info');
        await showList();
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
    }

    async function cancel(o) {
      const reason = window.prompt(t('orders.cancel_reason'));
      if (!reason || !reason.trim()) return;
      try {
        await ctx.api.post(`/orders/${o.id}/cancel`, { reason: reason.trim() });
        ctx.toast(t('orders.cancelled'), 'info');
        await showOrder(`/orders/${o.id}`);
      } catch (err) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); }
    }

    handler = (ref) => {
      showOrder(`/orders/by-code/${encodeURIComponent('SHO-' + ref)}`);
      return true;
    };
    ctx.onLive('order.status', (p) => { if (st.order && p.order_id === st.order.id) showOrder(`/orders/${st.order.id}`); });
    if (params.ref) await showOrder(`/orders/by-code/${encodeURIComponent('SHO-' + params.ref)}`);
    else if (params.id) await showOrder(`/orders/${params.id}`);
    else await showList();
  },
  onScan(code, ctx, scan) {
    return handler ? handler(scan.resolved.order_ref) : false;
  },
  onLeave() {
    handler = null;
  },
};
