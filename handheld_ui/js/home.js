// The home screen: who is logged in, "scan anything", and one tile per screen the user's role may open.
// Tiles are ordered by each screen's own `order` (then id), never by the hub's list order: the list follows
// the domain declarations, and moving a domain must not move what staff see.

import { h, icon } from './dom.js';
import { t } from './i18n.js';
import { screens } from './screens.js';
import { hasRole } from './state.js';

export function homeTiles() {
  return screens().filter((s) => s.home !== false && hasRole(s.minRole))
    .sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export const HOME = {
  id: 'home',
  titleKey: 'core.home_title',
  minRole: 'associate',
  render(ctx) {
    const u = ctx.user;
    ctx.root.append(
      h('div', { class: 'hello' },
        h('div', {}, h('p', { class: 'muted' }, ctx.store.name || ''),
          h('h2', { 'data-testid': 'hello' }, t('core.hello', { name: u.display_name || u.username }))),
        h('span', { class: `pill role r-${u.role}`, 'data-testid': 'role' }, t(`core.role_${u.role}`))),
      h('div', { class: 'scan-prompt', role: 'note' }, icon('barcode', 'icon xl'),
        h('div', {}, h('strong', {}, t('core.scan_anything')), h('p', {}, t('core.scan_anything_sub')))),
      h('nav', { class: 'tiles', 'aria-label': t('core.home_title') },
        homeTiles().map((s) => h('a', { class: 'tile', href: `#/${s.id}`, 'data-testid': `tile-${s.id}` },
          icon(s.icon || 'box', 'icon lg'), h('span', {}, t(s.titleKey))))));
  },
};
