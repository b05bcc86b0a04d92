// A paged list's footer: "31–48 of 48" and Previous / Next, over the hub's pages
// ({items, total, limit, offset, next_offset}). A list says how many there are; it never stops silently.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

/** pager(page, go, testid) → element; go(offset) loads another page. Null when everything fits on one page. */
export function pager(page, go, testid = 'pager') {
  const { items, total, limit, offset, next_offset: next } = page;
  if (!items.length || (offset === 0 && next == null)) return null;
  const from = offset + 1;
  const to = offset + items.length;
  return h('nav', { class: 'pager', 'aria-label': t('core.pages'), 'data-testid': testid },
    h('button', { type: 'button', class: 'btn', 'data-testid': `${testid}-prev`, disabled: offset === 0,
      'aria-label': t('core.page_prev'), onclick: () => go(Math.max(0, offset - limit)) }, icon('back')),
    h('span', { class: 'grow', 'data-testid': `${testid}-range` },
      total == null ? t('core.page_range_open', { from, to }) : t('core.page_range', { from, to, total })),
    h('button', { type: 'button', class: 'btn', 'data-testid': `${testid}-next`, disabled: next == null,
      'aria-label': t('core.page_next'), onclick: () => go(next) }, icon('chevron')));
}
