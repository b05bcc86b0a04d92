// Item lookup: scan anything, or search by name / SKU / GTIN.

import { h, icon } from '../js/dom.js';
import { pager } from '../js/pager.js';
import { thumb } from '../js/picture.js';
import { recentItems } from '../js/recent.js';

export function itemName(item, lang) {
  return (lang === 'zh-CN' ? item.name_zh || item.name_en : item.name_en || item.name_zh) || item.sku;
}

/** Where an item's picture comes from: its hash when the item says it (null: it has none), else ask by id. */
export function pictureSource(item) {
  if (item && 'picture_sha256' in item) return { sha: item.picture_sha256, none: !item.picture_sha256 };
  return { itemId: item && (item.item_id || item.id) };
}

const PAGE = 30;

export default {
  id: 'lookup',
  titleKey: 'lookup.title',
  minRole: 'associate',
  icon: 'search',
  order: 10,
  render(ctx, params) {
    const { t } = ctx;
    const input = h('input', {
      id: 'lookup-q', class: 'field', type: 'search', enterkeyhint: 'search', autocomplete: 'off', spellcheck: 'false',
      'data-testid': 'lookup-q', value: params.q || '', placeholder: t('lookup.placeholder'),
    });
    const results = h('div', { class: 'card', 'data-testid': 'lookup-results', hidden: true, 'aria-live': 'polite' });

    async function search(q, offset = 0) {
      results.hidden = false;
      results.replaceChildren(h('p', { class: 'muted' }, t('lookup.searching')));
      let page;
      try {
        page = await ctx.api.get('/items', { q, limit: PAGE, offset });
      } catch (err) {
        const mine = err.offline ? recentItems(q, 30) : [];
        if (mine.length) {
          // hub away: search what this device has seen
          ctx.feedback.warn();
          results.replaceChildren(h('p', { class: 'stale', role: 'status' }, icon('clock'), t('lookup.offline_results')), hitList(mine));
          return;
        }
        ctx.feedback.error();
        results.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, err.offline ? t('core.err_offline') : err.message)));
        return;
      }
      if (ctx.signal.aborted) return;
      if (!page.items.length) {
        ctx.feedback.warn();
        results.replaceChildren(h('div', { class: 'empty', 'data-testid': 'lookup-none' }, icon('search', 'icon xl'), h('p', {}, t('lookup.none', { q }))));
        return;
      }
      // the count is the whole match; the pager walks through it (a page is never a silent cut)
      results.replaceChildren(...[
        h('h3', { 'data-testid': 'lookup-count' }, t('lookup.count', { n: page.total ?? page.items.length })),
        hitList(page.items),
        pager(page, (next) => search(q, next), 'lookup-pager'),
      ].filter(Boolean));
    }

    function hitList(items, testid = 'lookup-hit') {
      return h('ul', { class: 'list' }, items.map((it) => h('li', {},
        h('button', { type: 'button', class: 'list-btn', 'data-testid': testid, onclick: () => ctx.navigate('item', { id: it.id }) },
          thumb(pictureSource(it), { testid: `${testid}-thumb` }),
          h('span', { class: 'grow' }, h('strong', {}, itemName(it, ctx.lang)), h('div', { class: 'sub' }, it.sku)),
          h('span', { class: 'hit-figures' }, h('span', { class: 'num' }, ctx.fmt.money(it.price_minor)),
            // items remembered on this device (hub away) may carry no totals: show stock only when we know it
            it.totals ? h('span', { class: 'sub' + (it.totals.on_hand <= 0 ? ' out' : ''), 'data-testid': 'lookup-stock' },
              t('lookup.on_hand', { qty: ctx.fmt.qty(it.totals.on_hand, it.unit) })) : null),
          icon('chevron')))));
    }

    const form = h('form', {
      class: 'search-form', role: 'search', onsubmit: (e) => {
        e.preventDefault();
        const q = input.value.trim();
        if (q) search(q);
      },
    }, input, h('button', { class: 'btn primary icon-only', type: 'submit', 'aria-label': t('lookup.search'), 'data-testid': 'lookup-go' }, icon('search')));

    const recent = recentItems();
    ctx.root.append(...[
      h('div', { class: 'card stack' },
        h('label', { for: 'lookup-q', class: 'label' }, t('lookup.label')), form,
        h('p', { class: 'muted' }, t('lookup.hint'))),
      results,
      recent.length ? h('div', { class: 'card', 'data-testid': 'lookup-recent' }, h('h3', {}, t('lookup.recent')), hitList(recent, 'recent-hit')) : null,
    ].filter(Boolean));
    if (params.q) search(params.q);
  },
};
