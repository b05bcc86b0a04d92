// One walk: go to the location shown, scan its label, scan the item, confirm the quantity (or the weight
// from a scale label). Wrong location / wrong item are refused with the hub's message. Short → substitute,
// partial or back-order. Picks go through the offline queue with their key, so a replay changes nothing.

import { h, icon } from '../js/dom.js';
import { itemRef } from '../js/recent.js';
import { thumb } from '../js/picture.js';
import { itemName, pictureSource } from './lookup.js';
import { errText } from './pick.js';

let handler = null; // the open walk's scan handler

export default {
  id: 'pick_walk',
  titleKey: 'pick_walk.title',
  minRole: 'associate',
  icon: 'clipboard',
  home: false,
  accepts: ['*'], // every scan as scanned: a walk goes on while the hub is away (checked against the task)
  async render(ctx, params) {
    const { t } = ctx;
    const st = { list: null, task: null, step: 'location', itemCode: null, busy: false, doneLocal: new Set() };
    ctx.root.append(h('p', { class: 'muted' }, t('pick_walk.loading')));

    const unitName = (task) => itemName(task, ctx.lang);
    const qtyText = (task, n) => ctx.fmt.qty(n, task.unit);

    async function load() {
      try {
        st.list = await ctx.api.get(`/pick-lists/${params.id}`);
        if (st.list.status === 'open') st.list = await ctx.api.post(`/pick-lists/${params.id}/start`, {});
      } catch (err) {
        if (!st.list) {
          ctx.root.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
          return;
        }
      }
      const pending = st.list.tasks.filter((x) => x.status === 'pending' && !st.doneLocal.has(x.id));
      st.task = pending[0] || null;
      st.step = 'location';
      st.itemCode = null;
      draw();
    }

    function progress() {
      const total = st.list.tasks.length;
      const done = st.list.tasks.filter((x) => x.status !== 'pending' || st.doneLocal.has(x.id)).length;
      return h('div', { class: 'card stack walk-head' },
        h('div', { class: 'row' }, h('strong', { class: 'grow' }, st.list.ref),
          h('span', { class: 'pill', 'data-testid': 'walk-progress' }, t('pick_walk.progress', { done, total }))),
        h('progress', { class: 'walk-bar', max: total || 1, value: done, 'aria-label': t('pick_walk.progress', { done, total }) }));
    }

    // The cart: one tote per order (numbered by the hub), so every pick says which tote it goes in.
    function toteList() {
      return h('div', { class: 'card stack', 'data-testid': 'walk-totes' },
        h('h3', {}, t('pick_walk.totes_title', { n: st.list.totes.length })),
        h('ul', { class: 'list' }, st.list.totes.map((x) => h('li', { class: 'row tote-row', 'data-testid': 'walk-tote-row' },
          h('span', { class: 'tote' }, t('pick_walk.tote', { n: x.tote })), h('span', { class: 'grow' }, x.order_code)))));
    }

    function draw() {
      const task = st.task;
      if (!task) {
        ctx.root.replaceChildren(progress(), h('div', { class: 'card empty', 'data-testid': 'walk-done' }, icon('check', 'icon xl'),
          h('h3', {}, t('pick_walk.done')), h('p', {}, t('pick_walk.done_sub', { orders: st.list.orders.join(', ') })),
          h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'walk-to-pack', onclick: () => ctx.navigate('pack') },
            icon('box'), t('pick_walk.to_pack'))), toteList());
        return;
      }
      const left = task.qty - task.qty_picked;
      const loc = h('div', { class: 'card stack', 'data-testid': 'walk-location' },
        h('div', { class: 'label' }, t('pick_walk.go_to')),
        h('div', { class: 'row' }, h('span', { class: 'loc-code', 'data-testid': 'walk-loc-code' }, task.location_code),
          h('span', { class: 'grow' }, task.location_name),
          st.step !== 'location' ? icon('check', 'icon lg') : null));
      const item = h('div', { class: 'card stack', 'data-testid': 'walk-item' },
        h('div', { class: 'label' }, t('pick_walk.take')),
        // the picture of what to take: the picker finds it on the shelf by sight as well as by name
        h('div', { class: 'row' }, thumb(pictureSource(task), { cls: 'thumb md', testid: 'walk-item-thumb' }),
          h('div', { class: 'grow' }, h('strong', { 'data-testid': 'walk-item-name' }, unitName(task)),
            h('div', { class: 'sub' }, `${task.sku} · ${t('pick_walk.for_order', { ref: task.order_ref })}`),
            // a lot-controlled item: the lot to take here, first expiring first (FEFO)
            task.lot ? h('div', { class: 'sub', 'data-testid': 'walk-lot' },
              t('pick_walk.lot', { lot: task.lot, expiry: task.lot_expiry || '—' })) : null)),
        h('div', { class: 'row' }, h('div', { class: 'loc-qty grow', 'data-testid': 'walk-qty' }, qtyText(task, left)),
          h('span', { class: 'tote', 'data-testid': 'walk-tote' }, t('pick_walk.into_tote', { n: task.tote }))));
      const prompt = h('div', { class: 'scan-prompt', 'data-testid': 'walk-prompt', 'aria-live': 'assertive' },
        icon('barcode', 'icon lg'),
        t(st.step === 'location' ? 'pick_walk.scan_location' : st.step === 'item' ? 'pick_walk.scan_item' : 'pick_walk.confirm_qty'));
      const parts = [progress(), loc, item, prompt];
      const started = st.list.tasks.some((x) => x.status !== 'pending' || st.doneLocal.has(x.id));
      if (!started && st.step === 'location') parts.push(toteList()); // before the first pick: set the cart up
      if (st.step === 'qty') parts.push(qtyForm(task, left));
      parts.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'walk-short', onclick: () => shortSheet(task) },
        icon('alert'), t('pick_walk.short')));
      ctx.root.replaceChildren(...parts);
    }

    function qtyForm(task, left) {
      const input = h('input', { class: 'field', type: 'number', inputmode: 'numeric', min: 1, max: left, step: 1,
        value: left, 'data-testid': 'walk-qty-input', 'aria-label': t('common.qty') });
      return h('form', {
        class: 'card stack', onsubmit: (e) => {
          e.preventDefault();
          const n = parseInt(input.value, 10);
          if (!Number.isInteger(n) || n < 1 || n > left) { ctx.feedback.warn(); ctx.toast(t('pick_walk.bad_qty', { left }), 'warn'); return; }
          confirm(task, st.itemCode, n);
        },
      }, h('label', { class: 'label' }, t('common.qty')), input,
      h('button', { class: 'btn primary big', type: 'submit', 'data-testid': 'walk-confirm' }, icon('check'), t('pick_walk.confirm')));
    }

    async function confirm(task, code, qty) {
      if (st.busy) return;
      st.busy = true;
      const body = { location_code: task.location_label, item_code: code };
      if (qty != null) body.qty = qty;
      // a weighed pick's grams come from the scanned label: the hub knows them, the queue shows what is left
      const res = await ctx.queueAction({ method: 'POST', path: `/pick-tasks/${task.id}/pick`, body,
        label: t('pick_walk.label_pick', { name: unitName(task), loc: task.location_code }),
        subject: { item: itemRef(task), qty: qty ?? task.qty - task.qty_picked, loc: task.location_code } });
      st.busy = false;
      if (res.state === 'failed') {
        ctx.feedback.error();
        ctx.toast(res.error.message || t('core.err_generic'), 'error');
        st.step = 'item';
        draw();
        return;
      }
      ctx.feedback.success();
      if (res.state === 'queued') {
        st.doneLocal.add(task.id);
        ctx.toast(t('pick_walk.queued'), 'warn');
      } else {
        ctx.toast(t('pick_walk.picked', { qty: qtyText(task, res.result.qty), name: unitName(task), n: task.tote }), 'success');
      }
      await load();
    }

    async function onItem(code) {
      const task = st.task;
      let res = null;
      try {
        res = await ctx.resolve(code);
      } catch (err) {
        if (!err.offline) { ctx.feedback.error(); ctx.toast(errText(ctx, err), 'error'); return; }
      }
      if (res && res.kind === 'location') { ctx.feedback.warn(); ctx.toast(t('pick_walk.already_here'), 'warn'); return; }
      if (res && (res.kind !== 'item' || res.item.id !== task.item_id)) {
        ctx.feedback.error();
        const got = res.item ? `${res.item.sku} ${itemName(res.item, ctx.lang)}` : code;
        ctx.toast(t('pick_walk.wrong_item', { got, want: `${task.sku} ${unitName(task)}` }), 'error');
        return;
      }
      st.itemCode = code;
      const left = task.qty - task.qty_picked;
      if (task.unit === 'kg') {
        if (res && res.weight_g == null) { ctx.feedback.warn(); ctx.toast(t('pick_walk.need_weight'), 'warn'); return; }
        return confirm(task, code, null);           // the label carries the weight
      }
      if (left === 1) return confirm(task, code, 1);
      st.step = 'qty';
      ctx.feedback.success();
      draw();
    }

    function onLocation(code) {
      const task = st.task;
      if (code.trim().toUpperCase() === task.location_label.toUpperCase()) {
        st.step = 'item';
        ctx.feedback.success();
        draw();
        return;
      }
      ctx.feedback.error();
      if (/^SHL-/i.test(code.trim())) {
        ctx.toast(t('pick_walk.wrong_location', { got: code.trim().slice(4).toUpperCase(), want: task.location_code }), 'error');
      } else {
        ctx.toast(t('pick_walk.location_first', { want: task.location_code }), 'error');
      }
    }

    async function shortSheet(task) {
      const dlg = h('dialog', { class: 'sheet', 'data-testid': 'short-sheet', 'aria-labelledby': 'short-title' });
      const close = () => { dlg.close(); dlg.remove(); };
      const act = async (resolution, substitute) => {
        close();
        const body = { resolution };
        if (substitute) body.substitute_item_id = substitute.id;
        const res = await ctx.queueAction({ method: 'POST', path: `/pick-tasks/${task.id}/short`, body,
          label: t('pick_walk.label_short', { name: unitName(task) }),
          subject: { item: itemRef(task), qty: task.qty - task.qty_picked, loc: task.location_code } });
        if (res.state === 'failed') { ctx.feedback.error(); ctx.toast(res.error.message, 'error'); return; }
        ctx.feedback.warn();
        if (res.state === 'queued') st.doneLocal.add(task.id);
        else ctx.toast(t(`pick_walk.short_${resolution}`), 'info');
        await load();
      };
      const options = h('div', { class: 'stack', 'data-testid': 'short-options' }, h('p', { class: 'muted' }, t('pick_walk.loading')));
      dlg.append(h('div', { class: 'sheet-head' }, h('h2', { id: 'short-title' }, t('pick_walk.short_title')),
        h('button', { type: 'button', class: 'btn', onclick: close }, t('common.close'))),
      h('p', {}, t('pick_walk.short_sub', { qty: qtyText(task, task.qty - task.qty_picked), name: unitName(task) })), options);
      document.body.append(dlg);
      dlg.showModal();
      let subs = [];
      if (task.allow_substitute) {
        try { subs = (await ctx.api.get(`/pick-tasks/${task.id}/substitutes`)).items; } catch (err) { subs = []; }
      }
      options.replaceChildren(...[ // replaceChildren() prints a null as "null": the filter below drops them
        ...subs.map((s) => h('button', { type: 'button', class: 'btn primary', 'data-testid': 'short-substitute', onclick: () => act('substitute', s) },
          icon('tag'), t('pick_walk.substitute_with', { name: itemName(s, ctx.lang), price: ctx.fmt.money(s.price_minor) }))),
        task.allow_substitute && !subs.length ? h('p', { class: 'muted' }, t('pick_walk.no_substitute')) : null,
        !task.allow_substitute ? h('p', { class: 'muted' }, t('pick_walk.no_substitute_allowed')) : null,
        h('button', { type: 'button', class: 'btn', 'data-testid': 'short-partial', onclick: () => act('partial') }, t('pick_walk.partial')),
        h('button', { type: 'button', class: 'btn', 'data-testid': 'short-backorder', onclick: () => act('backorder') }, t('pick_walk.backorder')),
      ].filter(Boolean));
    }

    handler = (code) => {
      if (!st.task || st.busy) return false;
      if (st.step === 'location') onLocation(code);
      else onItem(code);
      return true;
    };
    await load();
  },
  onScan(code) {
    return handler ? handler(code) : false;
  },
  onLeave() {
    handler = null;
  },
};
