// Picking: my pick lists, and "next batch" which batches the oldest waiting orders into one walk for me.

import { h, icon } from '../js/dom.js';

export function errText(ctx, err) {
  if (err && err.offline) return ctx.t('core.err_offline');
  return (err && err.message) || ctx.t('core.err_generic');
}

export default {
  id: 'pick',
  titleKey: 'pick.title',
  minRole: 'associate',
  icon: 'clipboard',
  order: 30,
  async render(ctx) {
    const { t } = ctx;
    const listBox = h('div', { class: 'card', 'data-testid': 'pick-lists', 'aria-live': 'polite' }, h('p', { class: 'muted' }, t('pick.loading')));
    const next = h('button', {
      type: 'button', class: 'btn primary big', 'data-testid': 'pick-next', onclick: async () => {
        next.disabled = true;
        try {
          const pl = await ctx.api.post('/pick-lists/next', {});
          ctx.feedback.success();
          ctx.navigate('pick_walk', { id: pl.id });
        } catch (err) {
          next.disabled = false;
          ctx.feedback.warn();
          ctx.toast(err.code === 'nothing_to_pick' ? t('pick.nothing') : errText(ctx, err), 'warn');
        }
      },
    }, icon('plus'), t('pick.next'));
    ctx.root.append(h('div', { class: 'card stack' }, h('p', { class: 'muted' }, t('pick.hint')), next), listBox);

    async function load() {
      let page;
      try {
        page = await ctx.api.get('/pick-lists', { mine: true, limit: 30 });
      } catch (err) {
        listBox.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
        return;
      }
      const open = page.items.filter((p) => p.status === 'open' || p.status === 'in_progress');
      if (!open.length) {
        listBox.replaceChildren(h('div', { class: 'empty', 'data-testid': 'pick-none' }, icon('clipboard', 'icon xl'), h('p', {}, t('pick.none'))));
        return;
      }
      listBox.replaceChildren(h('h3', {}, t('pick.mine')), h('ul', { class: 'list' }, open.map((p) => h('li', {},
        h('button', { type: 'button', class: 'list-btn', 'data-testid': 'pick-list', onclick: () => ctx.navigate('pick_walk', { id: p.id }) },
          icon('clipboard', 'icon lg'),
          h('span', { class: 'grow' }, h('strong', {}, p.ref),
            h('div', { class: 'sub' }, t('pick.progress', { done: p.done, total: p.tasks, orders: p.orders }))),
          h('span', { class: 'pill' }, t(`pick.status_${p.status}`)), icon('chevron'))))));
    }
    ctx.onLive('pick_list.created', () => load());
    await load();
  },
};
