// Line busting (phone-size handheld): scan a queuing customer's basket into a held cart on a till; the
// cashier picks it up by its SHC- code (or from the till's held list) and takes the payment.

import { h } from '../js/dom.js';
import { errorText } from '../js/toast.js';

const TILL_KEY = 'storehub.linebust_till';
let activeScan = null;

export default {
  id: 'checkout_linebust',
  titleKey: 'checkout_linebust.title',
  minRole: 'associate',
  icon: 'barcode',
  order: 6,
  accepts: ['*'], // every code is sent to the hub's checkout scan as scanned
  render(ctx) {
    const { t, fmt } = ctx;
    const s = { till: localStorage.getItem(TILL_KEY) || 'T1', cart: null };
    const box = h('div', { class: 'stack', 'data-testid': 'linebust' });
    ctx.root.append(box);
    const fail = (err) => { ctx.feedback.error(); ctx.toast(errorText(err), 'error'); };

    async function start() {
      try {
        s.cart = await ctx.api.post(`/checkout/tills/${encodeURIComponent(s.till)}/carts`, { hold: true, note: ctx.user.display_name || ctx.user.username });
        localStorage.setItem(TILL_KEY, s.till);
      } catch (err) { fail(err); }
      draw();
    }

    function draw() {
      box.replaceChildren();
      if (!s.cart) {
        const till = h('input', { id: 'linebust-till', class: 'field', 'data-testid': 'linebust-till', value: s.till, maxlength: '32' });
        const go = h('button', { class: 'btn big primary', type: 'button', 'data-testid': 'linebust-start' }, t('checkout_linebust.start'));
        go.addEventListener('click', () => { s.till = till.value.trim(); start(); });
        box.append(h('div', { class: 'card stack' }, h('label', { for: 'linebust-till' }, t('checkout_linebust.for_till')), till, go));
        return;
      }
      const c = s.cart;
      box.append(h('div', { class: 'card stack' },
        h('div', { class: 'row', style: 'justify-content:space-between' },
          h('strong', { 'data-testid': 'linebust-code', style: 'font-size:1.6em' }, c.code),
          h('strong', { 'data-testid': 'linebust-total', style: 'font-size:1.4em' }, fmt.money(c.total_minor))),
        h('p', { class: 'muted' }, t('checkout_linebust.hint', { till: c.till_id }))));
      box.append(h('ul', { class: 'list card', 'data-testid': 'linebust-lines' }, ...(c.lines.length ? c.lines.map((ln) => {
        const name = (ctx.lang === 'zh-CN' ? ln.name_zh || ln.name_en : ln.name_en || ln.name_zh) || ln.sku;
        const del = h('button', { class: 'btn danger', type: 'button', 'aria-label': t('checkout_linebust.remove') }, '×');
        del.addEventListener('click', async () => {
          try { s.cart = await ctx.api.post(`/checkout/carts/${c.id}/lines/${ln.id}/void`); draw(); } catch (err) { fail(err); }
        });
        return h('li', { class: 'row', 'data-testid': 'linebust-line', style: 'justify-content:space-between;min-height:48px' },
          h('span', {}, `${ln.weighed ? fmt.qty(ln.qty, 'kg') : ln.qty + ' ×'} ${name}`), h('span', {}, fmt.money(ln.net_minor)), del);
      }) : [h('li', { class: 'empty' }, t('checkout_linebust.scan'))])));
      const next = h('button', { class: 'btn big', type: 'button', 'data-testid': 'linebust-next' }, t('checkout_linebust.next'));
      next.addEventListener('click', () => { s.cart = null; start(); });
      box.append(next);
    }

    activeScan = async (code) => {
      if (!s.cart) { ctx.toast(t('checkout_linebust.start_first'), 'warn'); return; }
      try {
        s.cart = await ctx.api.post(`/checkout/carts/${s.cart.id}/scan`, { code });
        ctx.feedback.success();
      } catch (err) { fail(err); }
      draw();
    };
    draw();
  },
  onScan(code) {
    if (activeScan) activeScan(code);
    return true;
  },
  onLeave() { activeScan = null; },
};
