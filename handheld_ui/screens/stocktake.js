// Stock counts: open counts to join, recounts waiting for me, and (supervisors) a new count.

import { h, icon } from '../js/dom.js';

export function errText(ctx, err) {
  if (err && err.offline) return ctx.t('core.err_offline');
  return (err && err.message) || ctx.t('core.err_generic');
}

export default {
  id: 'stocktake',
  titleKey: 'stocktake.title',
  minRole: 'associate',
  icon: 'clipboard',
  order: 40,
  async render(ctx) {
    const { t } = ctx;
    const listBox = h('div', { class: 'card', 'data-testid': 'count-sessions', 'aria-live': 'polite' },
      h('p', { class: 'muted' }, t('stocktake.loading')));
    const recountBox = h('div', { 'data-testid': 'count-recounts' });
    const parts = [listBox, recountBox];
    if (ctx.hasRole('supervisor')) parts.unshift(newCountForm());
    ctx.root.append(...parts);

    function newCountForm() {
      const name = h('input', { class: 'field', 'data-testid': 'count-name', maxlength: 120,
        value: t('stocktake.default_name', { date: new Date().toISOString().slice(0, 10) }) });
      const mode = h('select', { class: 'field', 'data-testid': 'count-mode' },
        h('option', { value: 'blind' }, t('stocktake.mode_blind')), h('option', { value: 'guided' }, t('stocktake.mode_guided')));
      const uncounted = h('select', { class: 'field', 'data-testid': 'count-uncounted' },
        h('option', { value: 'zero' }, t('stocktake.uncounted_zero')), h('option', { value: 'exclude' }, t('stocktake.uncounted_exclude')));
      const go = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'count-create' }, icon('plus'), t('stocktake.create'));
      return h('form', {
        class: 'card stack', onsubmit: async (ev) => {
          ev.preventDefault();
          go.disabled = true;
          try {
            const s = await ctx.api.post('/stocktake/sessions', { name: name.value.trim(), mode: mode.value,
              uncounted: uncounted.value, idempotency_key: ctx.newKey() });
            ctx.feedback.success();
            ctx.navigate('stocktake_count', { id: s.id });
          } catch (err) {
            go.disabled = false;
            ctx.feedback.error();
            ctx.toast(errText(ctx, err), 'error');
          }
        },
      }, h('h3', {}, t('stocktake.new')), h('label', { class: 'label' }, t('stocktake.name'), name),
      h('label', { class: 'label' }, t('stocktake.mode'), mode), h('label', { class: 'label' }, t('stocktake.uncounted'), uncounted), go);
    }

    function sessionRow(s) {
      const actions = [];
      if (s.status === 'open') {
        actions.push(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'count-join',
          onclick: () => ctx.navigate('stocktake_count', { id: s.id }) }, icon('barcode'), t('stocktake.join')));
      }
      if (ctx.hasRole('supervisor') && (s.status === 'open' || s.status === 'review')) {
        actions.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'count-review',
          onclick: () => ctx.navigate('stocktake_review', { id: s.id }) }, icon('flag'), t('stocktake.review')));
      }
      return h('li', { class: 'stack', 'data-testid': 'count-session', 'data-id': s.id },
        h('div', { class: 'row' }, h('strong', { class: 'grow' }, s.name),
          h('span', { class: 'pill' }, t(`stocktake.status_${s.status}`))),
        h('div', { class: 'sub' }, `${t(`stocktake.kind_${s.kind}`)} · ${t(`stocktake.mode_${s.mode}`)} · ${ctx.fmt.time(s.created_at)}`),
        h('div', { class: 'row' }, actions));
    }

    async function load() {
      try {
        const [open, review] = await Promise.all([
          ctx.api.get('/stocktake/sessions', { status: 'open', limit: 20 }),
          ctx.hasRole('supervisor') ? ctx.api.get('/stocktake/sessions', { status: 'review', limit: 20 }) : { items: [] },
        ]);
        const rows = [...open.items, ...review.items];
        listBox.replaceChildren(h('h3', {}, t('stocktake.open_counts')), rows.length
          ? h('ul', { class: 'list' }, rows.map(sessionRow))
          : h('div', { class: 'empty', 'data-testid': 'count-none' }, icon('clipboard', 'icon xl'), h('p', {}, t('stocktake.none'))));
        const rc = await ctx.api.get('/stocktake/recounts');
        recountBox.replaceChildren(rc.items.length ? h('div', { class: 'card' }, h('h3', {}, t('stocktake.recounts')),
          h('ul', { class: 'list' }, rc.items.map((r) => h('li', {},
            h('button', { type: 'button', class: 'list-btn', 'data-testid': 'count-recount',
              onclick: () => ctx.navigate('stocktake_count', { id: r.session_id, rc_item: r.item_id, rc_loc: r.location_id,
                rc_sku: r.sku, rc_code: r.location_code }) },
            icon('flag', 'icon lg'), h('span', { class: 'grow' }, h('strong', {}, r.sku),
              h('div', { class: 'sub' }, `${r.location_code} · ${r.session_name}`)), icon('chevron')))))) : '');
      } catch (err) {
        listBox.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
      }
    }
    ctx.onLive('count.session', () => load());
    ctx.onLive('count.recount', () => load());
    await load();
  },
};
