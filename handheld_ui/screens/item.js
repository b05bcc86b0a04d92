// One item: price, stock per location (live), last movements, and receive / adjust actions that work
// offline (queued with their idempotency key).

import { h, icon } from '../js/dom.js';
import { pictureUrl, thumb, uploadPicture } from '../js/picture.js';
import { itemRef, recallItem, rememberItem } from '../js/recent.js';
import { itemName, pictureSource } from './lookup.js';

const ADJUST_REASONS = ['damaged', 'found', 'miscount', 'other'];

function deltaText(ctx, n, unit) {
  return (n > 0 ? '+' : n < 0 ? '−' : '') + ctx.fmt.qty(Math.abs(n), unit);
}

function stat(label, value, neg, testid) {
  return h('div', { class: 'stat' + (neg ? ' neg' : '') }, h('div', { class: 'v', 'data-testid': testid }, value), h('div', { class: 'k' }, label));
}

let sheet = null; // the open action sheet: {dlg, select, ...} (a scanned location label picks the location)

function actionSheet(ctx, item, kind, locations, reload) {
  const { t } = ctx;
  const unit = item.unit;
  const dlg = h('dialog', { class: 'sheet', 'data-testid': `sheet-${kind}`, 'aria-labelledby': 'sheet-title' });
  const select = h('select', { id: 'act-loc', class: 'field', 'data-testid': 'act-loc' },
    locations.map((l) => h('option', { value: l.id }, `${l.code} · ${l.name}`)));
  const qty = h('input', {
    id: 'act-qty', class: 'field', type: 'number', inputmode: 'numeric', step: 1, value: kind === 'receive' ? 1 : -1,
    'data-testid': 'act-qty', min: kind === 'receive' ? 1 : undefined,
  });
  const stepBy = (d) => () => {
    let v = (parseInt(qty.value, 10) || 0) + d;
    if (kind === 'receive' && v < 1) v = 1;
    if (kind === 'adjust' && v === 0) v += d;
    qty.value = v;
  };
  let reason = kind === 'receive' ? 'delivery' : null;
  const reasons = kind === 'adjust' ? h('div', { class: 'chips', role: 'group', 'aria-label': t('item.reason') },
    ADJUST_REASONS.map((r) => h('button', {
      type: 'button', class: 'chip', 'aria-pressed': 'false', 'data-testid': `reason-${r}`,
      onclick: (e) => {
        reason = r;
        for (const c of e.currentTarget.parentNode.children) c.setAttribute('aria-pressed', String(c === e.currentTarget));
      },
    }, t(`item.reason_${r}`)))) : null;
  const submit = h('button', { class: 'btn primary big', type: 'submit', 'data-testid': 'act-submit' }, icon('check'),
    t(kind === 'receive' ? 'item.receive_go' : 'item.adjust_go'));
  const form = h('form', {
    class: 'stack', onsubmit: async (e) => {
      e.preventDefault();
      const n = parseInt(qty.value, 10);
      if (!Number.isInteger(n) || n === 0 || (kind === 'receive' && n < 1)) { ctx.feedback.warn(); ctx.toast(t('item.bad_qty'), 'warn'); qty.focus(); return; }
      if (!reason) { ctx.feedback.warn(); ctx.toast(t('item.need_reason'), 'warn'); return; }
      const loc = locations.find((l) => l.id === select.value);
      submit.disabled = true;
      const label = t(kind === 'receive' ? 'item.label_receive' : 'item.label_adjust',
        { qty: deltaText(ctx, n, unit), name: itemName(item, ctx.lang), loc: loc ? loc.code : '' });
      const res = await ctx.queueAction({
        method: 'POST', path: '/movements', label,
        subject: { item: itemRef(item), qty: n, loc: loc ? loc.code : null },
        body: { kind, item_id: item.id, location_id: select.value, qty: n, reason },
      });
      dlg.close();
      if (res.state === 'done') {
        ctx.feedback.success();
        ctx.toast(t('item.done', { what: label }), 'success');
        reload();
      } else if (res.state === 'queued') {
        ctx.feedback.warn();
        ctx.toast(t('item.queued'), 'warn');
      } else {
        ctx.feedback.error();
        ctx.toast(t('item.failed', { msg: res.error && (res.error.message || res.error.code) }), 'error');
      }
    },
  },
  h('label', { for: 'act-loc', class: 'label' }, t('item.location')), select,
  h('p', { class: 'sub' }, t('item.scan_location_hint')),
  h('label', { for: 'act-qty', class: 'label' }, unit === 'kg' ? t('item.qty_g') : t('common.qty')),
  h('div', { class: 'stepper' },
    h('button', { type: 'button', class: 'btn', 'aria-label': t('item.less'), onclick: stepBy(-1) }, icon('minus')), qty,
    h('button', { type: 'button', class: 'btn', 'aria-label': t('item.more'), onclick: stepBy(1) }, icon('plus'))),
  reasons ? h('div', { class: 'label' }, t('item.reason')) : null, reasons,
  h('div', { class: 'row gap' }, h('button', { class: 'btn big', type: 'button', onclick: () => dlg.close() }, t('common.cancel')), submit));
  dlg.append(h('div', { class: 'sheet-head' }, h('h2', { id: 'sheet-title' }, t(kind === 'receive' ? 'item.receive' : 'item.adjust'))),
    h('p', { class: 'muted' }, itemName(item, ctx.lang)), form);
  dlg.addEventListener('close', () => { dlg.remove(); sheet = null; });
  document.body.append(dlg);
  dlg.showModal();
  sheet = { dlg, select, locations };
  qty.focus();
  qty.select();
}

export default {
  id: 'item',
  titleKey: 'item.title',
  minRole: 'associate',
  icon: 'box',
  home: false,
  accepts: ['location'], // with the action sheet open, a location label chooses the location
  async render(ctx, params) {
    const { t } = ctx;
    let item = null;
    let locations = null;
    const body = h('div', { class: 'stack', 'data-testid': 'item' });
    ctx.root.append(body);
    const before = new Map();
    let stale = null;

    async function load(flash = false) {
      let fresh;
      try {
        fresh = await ctx.api.get(`/items/${encodeURIComponent(params.id)}`);
      } catch (err) {
        if (ctx.signal.aborted) return;
        const cached = err.offline && recallItem(params.id);
        if (cached) {
          // the hub is away: show what this device saw last, clearly marked
          item = cached.item;
          stale = cached.at;
          paint(false);
          return;
        }
        body.replaceChildren(h('div', { class: 'empty error', 'data-testid': 'item-error' }, icon('alert', 'icon xl'),
          h('p', {}, err.offline ? t('core.err_offline') : err.code === 'item_not_found' ? t('item.not_found') : err.message),
          h('button', { class: 'btn', type: 'button', onclick: () => load() }, t('common.retry'))));
        return;
      }
      if (ctx.signal.aborted) return;
      item = fresh;
      stale = null;
      rememberItem(fresh);
      paint(flash);
    }

    // Supervisors and managers give the item a picture: the phone's camera (capture) or a file, sent as it is;
    // the hub checks it, turns it upright, strips its metadata and makes the thumbnails.
    function pictureActions() {
      const has = Boolean(item.picture_sha256);
      // not shown: the button opens it (display:none file inputs still open the camera/file picker on click)
      const input = h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true,
        'aria-label': t('item.picture_take'), 'data-testid': 'picture-file' });
      const take = h('button', { class: 'btn', type: 'button', 'data-testid': 'picture-take', onclick: () => input.click() },
        icon('camera'), t(has ? 'item.picture_replace' : 'item.picture_take'));
      input.addEventListener('change', async () => {
        const file = input.files && input.files[0];
        input.value = '';
        if (!file) return;
        take.disabled = true;
        take.setAttribute('aria-busy', 'true');
        try {
          await uploadPicture(item.id, file);
          ctx.feedback.success();
          ctx.toast(t('item.picture_saved'), 'success');
          await load();
        } catch (err) {
          ctx.feedback.error();
          ctx.toast(err.offline ? t('core.err_offline') : t('item.picture_failed', { msg: err.message }), 'error');
        } finally {
          take.disabled = false;
          take.removeAttribute('aria-busy');
        }
      });
      const remove = has ? h('button', { class: 'btn', type: 'button', 'data-testid': 'picture-remove', onclick: async () => {
        remove.disabled = true;
        try {
          await ctx.api.del(`/items/${encodeURIComponent(item.id)}/picture`);
          ctx.toast(t('item.picture_removed'), 'success');
          await load();
        } catch (err) {
          ctx.feedback.error();
          ctx.toast(err.offline ? t('core.err_offline') : t('item.picture_failed', { msg: err.message }), 'error');
          remove.disabled = false;
        }
      } }, icon('x'), t('item.picture_remove')) : null;
      return h('div', { class: 'picture-actions' }, input, take, remove);
    }

    // the whole picture (1024 px) over the screen, closed by its button, Escape or a tap on it
    function showPicture() {
      const name = itemName(item, ctx.lang);
      const dlg = h('dialog', { class: 'sheet picture-sheet', 'data-testid': 'picture-dialog', 'aria-label': t('item.picture_alt', { name }) },
        h('img', { src: pictureUrl(item.picture_sha256, 1024), alt: t('item.picture_alt', { name }), onclick: () => dlg.close() }),
        h('button', { class: 'btn big', type: 'button', 'data-testid': 'picture-close', onclick: () => dlg.close() }, t('common.close')));
      dlg.addEventListener('close', () => dlg.remove());
      document.body.append(dlg);
      dlg.showModal();
    }

    function picture() {
      const name = itemName(item, ctx.lang);
      const box = thumb(pictureSource(item), { size: 320, cls: 'thumb lg', testid: 'item-picture', alt: t('item.picture_alt', { name }) });
      if (!item.picture_sha256) return box;
      return h('button', { class: 'picture-btn', type: 'button', 'aria-label': t('item.picture_open', { name }),
        'data-testid': 'picture-open', onclick: showPicture }, box);
    }

    function paint(flash) {
      const unit = item.unit;
      const totals = item.totals || { on_hand: 0, reserved: 0, available: 0 };
      const gtins = (item.gtins || []).map((g) => g.replace(/^0+(?=\d{8,13}$)/, ''));
      const locRows = (item.stock || []).map((s) => {
        const changed = flash && before.has(s.location_id) && before.get(s.location_id) !== s.on_hand;
        before.set(s.location_id, s.on_hand);
        return h('li', { class: 'loc-row' + (changed ? ' flash' : ''), 'data-testid': 'stock-row', 'data-loc': s.location_code },
          h('span', { class: 'loc-code' }, s.location_code),
          h('span', { class: 'grow' }, h('div', {}, s.location_name), s.reserved ? h('div', { class: 'sub' }, t('item.reserved_n', { n: ctx.fmt.qty(s.reserved, unit) })) : null),
          h('span', { class: 'loc-qty' + (s.on_hand < 0 ? ' neg' : ''), 'data-testid': `stock-${s.location_code}` }, ctx.fmt.qty(s.on_hand, unit)));
      });
      if (!flash) for (const s of item.stock || []) before.set(s.location_id, s.on_hand);
      const mvs = (item.movements || []).map((m) => h('li', { class: 'mv-row', 'data-testid': 'movement-row' },
        h('span', { class: 'grow' }, h('div', { class: 'mv-kind' }, t(`item.kind_${m.kind}`)),
          h('div', { class: 'sub' }, `${ctx.fmt.time(m.ts)} · ${m.reason}`)),
        h('span', { class: 'mv-delta ' + (m.qty_delta > 0 ? 'plus' : m.qty_delta < 0 ? 'minus' : '') }, deltaText(ctx, m.qty_delta, unit))));
      const actions = [
        h('button', { class: 'btn primary big', type: 'button', 'data-testid': 'act-receive', onclick: () => openSheet('receive') }, icon('truck'), t('item.receive')),
        ctx.hasRole('supervisor') ? h('button', { class: 'btn big', type: 'button', 'data-testid': 'act-adjust', onclick: () => openSheet('adjust') }, icon('clipboard'), t('item.adjust')) : null,
      ];
      const scanned = [
        ['lot', params.lot], ['serial', params.serial], ['expiry', params.expiry], ['best_before', params.best_before],
        ['weight', params.weight_g && ctx.fmt.qty(Number(params.weight_g), 'kg')],
        ['label_price', params.price_minor && ctx.fmt.money(Number(params.price_minor))], ['count', params.count],
      ].filter(([, v]) => v);
      body.replaceChildren(...[
        stale ? h('p', { class: 'stale', role: 'status', 'data-testid': 'item-stale' }, icon('clock'), t('item.stale', { time: ctx.fmt.time(stale) })) : null,
        h('div', { class: 'card item-head' },
          picture(),
          h('h2', { 'data-testid': 'item-name' }, itemName(item, ctx.lang)),
          h('div', { class: 'item-meta' }, h('span', {}, item.sku), gtins.length ? h('span', {}, '· ' + gtins.join(', ')) : null,
            item.active === false ? h('span', { class: 'state-tag failed' }, t('item.inactive')) : null),
          h('div', { class: 'row' }, h('span', { class: 'price', 'data-testid': 'item-price' }, ctx.fmt.money(item.price_minor)),
            h('span', { class: 'muted' }, unit === 'kg' ? t('item.per_kg') : t('item.each'))),
          ctx.hasRole('supervisor') && !stale ? pictureActions() : null),
        scanned.length ? h('div', { class: 'card scanned', 'data-testid': 'scanned-label' },
          h('h3', {}, icon('barcode'), t('item.scanned_label')),
          h('dl', { class: 'kv' }, scanned.map(([k, v]) => [h('dt', {}, t(`item.scanned_${k}`)), h('dd', { 'data-testid': `scanned-${k}` }, String(v))]))) : null,
        h('div', { class: 'card' }, h('h3', {}, t('item.stock')),
          h('div', { class: 'stock-total' },
            stat(t('item.on_hand'), ctx.fmt.qty(totals.on_hand, unit), totals.on_hand < 0, 'total-on-hand'),
            stat(t('item.reserved'), ctx.fmt.qty(totals.reserved, unit), false, 'total-reserved'),
            stat(t('item.available'), ctx.fmt.qty(totals.available, unit), totals.available < 0, 'total-available')),
          locRows.length ? h('ul', { class: 'list', 'aria-label': t('item.per_location') }, locRows)
            : h('p', { class: 'empty' }, t('item.no_stock'))),
        h('div', { class: 'row gap' }, actions),
        h('div', { class: 'card' }, h('h3', {}, t('item.movements')),
          mvs.length ? h('ul', { class: 'list' }, mvs) : h('p', { class: 'empty' }, t('item.no_movements'))),
      ].filter(Boolean));
    }

    // Locations change rarely: keep the last list on the device so receiving works while the hub is away.
    const fetchLocations = async () => {
      try {
        const listed = [];
        for (let offset = 0; offset !== null && listed.length < 20000;) {   // the list is paged: follow it
          const pageOf = await ctx.api.get('/locations', { limit: 500, offset });
          listed.push(...pageOf.items);
          offset = pageOf.next_offset;
        }
        const all = listed.filter((l) => l.kind === 'bin' || l.kind === 'area')
          .map(({ id, code, name, kind }) => ({ id, code, name, kind }));
        localStorage.setItem('storehub.locations', JSON.stringify(all));
        return all;
      } catch {
        const cached = JSON.parse(localStorage.getItem('storehub.locations') || 'null');
        return cached || ((item && item.stock) || []).map((s) => ({ id: s.location_id, code: s.location_code, name: s.location_name }));
      }
    };
    const prefetch = fetchLocations();

    async function openSheet(kind) {
      if (!locations) {
        locations = ctx.online ? await fetchLocations() : await prefetch;
        const stocked = new Set((item.stock || []).map((s) => s.location_id));
        // where the item already is first, then bins in walk order, then areas (stable sort keeps walk order)
        const rank = (l) => (stocked.has(l.id) ? 0 : l.kind === 'area' ? 2 : 1);
        locations.sort((a, b) => rank(a) - rank(b));
      }
      if (!locations.length) { ctx.feedback.warn(); ctx.toast(t('item.no_locations'), 'warn'); return; }
      actionSheet(ctx, item, kind, locations, () => load(true));
    }

    // live: reload (debounced, a burst of movements costs one fetch) when this item changes on the hub
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(() => load(true), 250); };
    ctx.signal.addEventListener('abort', () => clearTimeout(timer));
    ctx.onLive('movement', (m) => { if (item && m.item_id === item.id) soon(); });
    ctx.onLive('item.upsert', (it) => { if (item && it.id === item.id) soon(); });
    await load();
  },
  onScan(code, ctx, scan) {
    if (!sheet) return false;
    const loc = scan.resolved.location;
    const opt = sheet.locations.find((l) => l.id === loc.id);
    if (!opt) { ctx.feedback.error(); ctx.toast(ctx.t('item.location_not_listed', { code: loc.code }), 'error'); return true; }
    sheet.select.value = opt.id;
    ctx.feedback.success();
    return true;
  },
  onLeave() {
    if (sheet) sheet.dlg.close();
  },
};
