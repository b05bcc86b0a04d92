// Today's promotions: what head office has running in this store today, in the associate's language, so the
// floor can answer "is this on offer?" without a till; pricing itself is the checkout's. A promotion with a shelf
// (item phase, a scope) has "Print labels": its promo shelf labels again on the store's printer
// (POST /promotions/<id>/labels; the hub prints them by itself once when a promotion starts).

import { h, icon } from '../js/dom.js';
import { errorText } from '../js/toast.js';

function describe(ctx, p) {
  const { t, fmt } = ctx;
  const q = p.params || {};
  switch (p.type) {
    case 'percent_off': return t('promotions.kind_percent_off', { percent: q.percent });
    case 'fixed_price': return t('promotions.kind_fixed_price', { price: fmt.money(q.price_minor) });
    case 'spend_save': return (q.ladder || []).map((r) => t(q.repeat ? 'promotions.kind_spend_save_repeat' : 'promotions.kind_spend_save',
      { spend: fmt.money(r.spend_minor), save: fmt.money(r.save_minor) })).join(' · ');
    case 'buy_x_get_y': return t('promotions.kind_buy_x_get_y', { buy: q.buy, get: q.get, percent: q.percent_off ?? 100 });
    case 'bundle_price': return t('promotions.kind_bundle_price', { price: fmt.money(q.price_minor) });
    case 'nth_item_off': return t('promotions.kind_nth_item_off', { n: q.n, percent: q.percent });
    default: return p.type;
  }
}

export default {
  id: 'promotions',
  titleKey: 'promotions.title',
  minRole: 'associate',
  icon: 'clipboard',
  order: 102,   // after the built-in tiles; unique per domain (its block of numbers)
  async render(ctx) {
    const { t } = ctx;
    const box = h('div', { class: 'card', 'data-testid': 'promotions-list', 'aria-live': 'polite' },
      h('p', { class: 'muted' }, t('promotions.loading')));
    ctx.root.append(box);
    let page;
    try {
      page = await ctx.api.get('/promotions/active');
    } catch (err) {
      box.replaceChildren(h('p', { class: 'empty error' }, err.offline ? t('core.err_offline') : err.message));
      return;
    }
    if (!page.items.length) {
      box.replaceChildren(h('div', { class: 'empty', 'data-testid': 'promotions-none' }, icon('check', 'icon xl'),
        h('p', {}, t('promotions.none'))));
      return;
    }
    const labelled = (p) => p.phase === 'item' && ['skus', 'categories', 'brands'].some((k) => (p.scope?.[k] || []).length)
      || (p.params?.groups || []).length > 0;
    async function printLabels(p, btn) {
      btn.disabled = true;
      try {
        const out = await ctx.api.post(`/promotions/${encodeURIComponent(p.id)}/labels`, {});
        ctx.toast(t('promotions.labels_sent', { n: out.jobs.length }), out.jobs.length ? 'success' : 'warn');
      } catch (err) {
        ctx.toast(errorText(err), 'error');
      } finally {
        btn.disabled = false;
      }
    }
    const name = (p) => (ctx.lang === 'zh-CN' ? p.name['zh-CN'] || p.name.en : p.name.en || p.name['zh-CN']) || p.id;
    box.replaceChildren(h('ul', { class: 'list' }, page.items.map((p) => h('li', { 'data-testid': 'promotions-row' },
      h('span', { class: 'grow' }, h('strong', {}, name(p)),
        h('div', { class: 'sub' }, describe(ctx, p)),
        p.hours.length ? h('div', { class: 'sub' }, t('promotions.hours', { hours: p.hours.map((s) => s.join('–')).join(', ') })) : null),
      p.members_only ? h('span', { class: 'pill' }, t('promotions.members')) : null,
      p.coupon ? h('span', { class: 'pill' }, t('promotions.coupon', { code: p.coupon })) : null,
      labelled(p) ? h('button', { type: 'button', class: 'btn', 'data-testid': 'promotions-labels',
        onclick: (ev) => printLabels(p, ev.currentTarget) }, icon('tag'), t('promotions.print_labels')) : null))));
  },
};
