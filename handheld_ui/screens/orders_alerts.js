// SLA alerts for supervisors: orders waiting longer than their state allows, most overdue first, live.

import { h, icon } from '../js/dom.js';
import { errText } from './pick.js';

export default {
  id: 'orders_alerts',
  titleKey: 'orders_alerts.title',
  minRole: 'supervisor',
  icon: 'clock',
  order: 36,
  async render(ctx) {
    const { t } = ctx;
    const box = h('div', { class: 'card', 'data-testid': 'sla-list', 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('orders_alerts.loading')));
    ctx.root.append(box);
    async function load() {
      let page;
      try {
        page = await ctx.api.get('/orders/alerts');
      } catch (err) {
        box.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
        return;
      }
      if (!page.items.length) {
        box.replaceChildren(h('div', { class: 'empty', 'data-testid': 'sla-none' }, icon('check', 'icon xl'), h('p', {}, t('orders_alerts.none'))));
        return;
      }
      box.replaceChildren(h('ul', { class: 'list' }, page.items.map((a) => h('li', {},
        h('button', { type: 'button', class: 'list-btn', 'data-testid': 'sla-row', 'data-severity': a.severity,
          onclick: () => ctx.navigate('orders', { id: a.order_id }) },
          icon(a.severity === 'critical' ? 'alert' : 'clock', 'icon lg'),
          h('span', { class: 'grow' }, h('strong', {}, a.code),
            h('div', { class: 'sub' }, t('orders_alerts.waiting', { status: t(`pack.status_${a.status}`), min: a.waiting_min, limit: a.limit_min }))),
          h('span', { class: 'pill' }, t(`orders_alerts.${a.severity}`)), icon('chevron'))))));
    }
    ctx.onLive('order.status', () => load());
    const timer = setInterval(load, 60000);
    ctx.signal.addEventListener('abort', () => clearInterval(timer));
    await load();
  },
};
