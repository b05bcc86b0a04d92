// Transfers between stores: the ones this store sends (proposed by it or by head office) and the ones on their
// way to it, newest first, with their state. Tap one to accept, pick and ship it (sending store) or to receive it
// by scan (receiving store): screen purchasing_transfer_do.

import { h, icon } from '../js/dom.js';
import { errText } from './purchasing.js';

export default {
  id: 'purchasing_transfer',
  titleKey: 'purchasing_transfer.title',
  minRole: 'associate',
  icon: 'truck',
  order: 107,
  async render(ctx) {
    const { t } = ctx;
    const filter = h('select', { class: 'field', 'data-testid': 'xfer-filter', 'aria-label': t('purchasing_transfer.filter') },
      h('option', { value: '' }, t('purchasing_transfer.all')),
      ...['proposed', 'accepted', 'picked', 'shipped', 'received'].map((s) => h('option', { value: s }, t(`purchasing_transfer.status.${s}`))));
    const list = h('div', { class: 'stack', 'data-testid': 'xfer-list', 'aria-live': 'polite' });
    ctx.root.replaceChildren(filter, list);
    async function load() {
      try {
        const q = filter.value ? { status: filter.value } : {};
        const page = await ctx.api.get('/purchasing/transfers', q);
        list.replaceChildren(...(page.items.length ? page.items.map((x) => h('button', {
          type: 'button', class: 'card row', 'data-testid': 'xfer-row', 'data-id': x.id,
          onclick: () => ctx.navigate('purchasing_transfer_do', { id: x.id }),
        }, icon('truck', 'icon lg'), h('span', { class: 'grow stack' },
          h('strong', {}, t('purchasing_transfer.route', { from: x.from_store, to: x.to_store })),
          h('span', { class: 'sub' }, t('purchasing_transfer.lines', { n: x.lines }))),
        h('span', { class: 'pill' }, t(`purchasing_transfer.status.${x.status}`)))) : [h('p', { class: 'muted' }, t('purchasing_transfer.none'))]));
      } catch (err) {
        list.replaceChildren(h('p', { class: 'empty error' }, errText(ctx, err)));
      }
    }
    filter.addEventListener('change', () => load());
    await load();
  },
};
