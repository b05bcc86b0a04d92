// Pending actions: what waits for the hub, what the hub refused; sync now, retry, discard.

import { h, icon } from '../js/dom.js';
import { recallItem, recentByGtin } from '../js/recent.js';
import { storedErrorText } from '../js/toast.js';
import { itemName } from './lookup.js';

// What an action is about: the item and quantity the screen stored with it, else what this device knows of
// the item it names (an item id, or a scanned GTIN of an item seen here) and the body's quantity.
function subjectOf(a) {
  if (a.subject && a.subject.item) return a.subject;
  const b = a.body || {};
  const seen = (b.item_id && recallItem(b.item_id)) ? recallItem(b.item_id).item
    : recentByGtin(b.code || b.item_code || '') || null;
  return { item: seen, qty: Number.isFinite(b.qty) ? b.qty : null, loc: b.location_code || null, code: b.code || b.item_code || null };
}

export default {
  id: 'queue',
  titleKey: 'queue.title',
  minRole: 'associate',
  icon: 'sync',
  order: 80,
  async render(ctx) {
    const { t } = ctx;
    const list = h('div', { class: 'card', 'data-testid': 'queue-list' });
    const syncBtn = h('button', {
      class: 'btn primary big', type: 'button', 'data-testid': 'queue-sync', onclick: async () => {
        syncBtn.disabled = true;
        const r = await ctx.queue.flush();
        syncBtn.disabled = false;
        if (r === 'unreachable') { ctx.feedback.error(); ctx.toast(t('core.err_offline'), 'error'); } else ctx.feedback.success();
        paint();
      },
    }, icon('sync'), t('queue.sync_now'));

    async function paint() {
      const rows = await ctx.queue.all();
      if (ctx.signal.aborted) return;
      if (!rows.length) {
        list.replaceChildren(h('div', { class: 'empty', 'data-testid': 'queue-empty' }, icon('check', 'icon xl'), h('p', {}, t('queue.empty'))));
        return;
      }
      list.replaceChildren(h('ul', { class: 'list' }, rows.map((a) => {
        const what = subjectOf(a);
        const unit = what.item ? what.item.unit : 'each';
        return h('li', { class: 'queue-item', 'data-testid': 'queue-row' },
          icon(a.state === 'failed' ? 'alert' : 'clock', 'icon lg'),
          h('div', { class: 'grow stack' },
            h('div', { class: 'row' },
              h('strong', { class: 'grow', 'data-testid': 'queue-row-name' },
                what.item ? itemName(what.item, ctx.lang) : (what.code || a.label || t('queue.action'))),
              what.qty != null ? h('span', { class: 'num', 'data-testid': 'queue-row-qty' }, ctx.fmt.qty(Math.abs(what.qty), unit)) : null),
            h('div', { class: 'sub' }, [a.label, what.loc].filter(Boolean).join(' · ')),
            h('div', { class: 'sub' }, `${ctx.fmt.time(a.created_at)} · ${a.user_id === ctx.user.id ? t('queue.mine') : t('queue.other_user')}`),
            h('span', { class: 'state-tag' + (a.state === 'failed' ? ' failed' : '') },
              a.state === 'failed' ? t('queue.failed', { msg: storedErrorText(a.error) }) : t('queue.waiting')),
            a.state === 'failed' ? h('div', { class: 'row gap' },
              h('button', { class: 'btn', type: 'button', onclick: async () => { await ctx.queue.retry(a.seq); paint(); } }, t('common.retry')),
              h('button', { class: 'btn danger', type: 'button', onclick: async () => { await ctx.queue.discard(a.seq); paint(); } }, t('queue.discard'))) : null));
      })));
    }

    ctx.root.append(
      h('div', { class: 'card stack' },
        h('p', {}, ctx.online ? t('queue.intro_online') : t('queue.intro_offline')), syncBtn),
      list);
    await paint();
    const timer = setInterval(paint, 2000);
    ctx.signal.addEventListener('abort', () => clearInterval(timer));
  },
};
