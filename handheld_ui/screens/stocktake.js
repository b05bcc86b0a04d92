// Stock counts: open counts to join (or cancel, with a reason), recounts waiting for me, and a new count.
// A new count always says what it covers — locations (areas, aisles, bays; a scanned shelf label adds its
// location), categories, items, the cycle-count tasks due today, or the whole store — and what happens to
// what nobody counted: left out by default; "count as zero" is a manager's explicit choice (the hub refuses
// it to anyone else), so counting one shelf can never write off the rest of the store.

import { h, icon } from '../js/dom.js';
import { itemName } from './lookup.js';

export function errText(ctx, err) {
  if (err && err.offline) return ctx.t('core.err_offline');
  return (err && err.message) || ctx.t('core.err_generic');
}

/** A row of buttons that wraps instead of squeezing labels (Chinese labels must not break per character). */
export function buttonRow(children, testid, basis = '140px') {
  return h('div', { style: { display: 'flex', flexWrap: 'wrap', gap: '8px' }, 'data-testid': testid },
    children.filter(Boolean).map((b) => { b.style.flex = `1 1 ${basis}`; return b; }));
}

/** What a count covers, in words: the whole store, its location codes, categories, number of items. */
export function scopeText(ctx, sum) {
  const { t } = ctx;
  if (!sum || sum.whole_store) return t('stocktake.scope_whole_store');
  const parts = [];
  if (sum.location_codes.length) parts.push(sum.location_codes.slice(0, 6).join(', ') + (sum.location_codes.length > 6 ? ' …' : ''));
  if (sum.categories.length) parts.push(sum.categories.join(', '));
  if (sum.items) parts.push(t('stocktake.scope_n_items', { n: ctx.fmt.number(sum.items) }));
  return parts.join(' · ');
}

let addLocation = null; // the open new-count form's "a shelf label was scanned" handler

const SCOPES = ['locations', 'categories', 'items', 'tasks', 'store'];

export default {
  id: 'stocktake',
  titleKey: 'stocktake.title',
  minRole: 'associate',
  icon: 'clipboard',
  order: 40,
  accepts: ['location'],
  async render(ctx) {
    const { t } = ctx;
    const listBox = h('div', { class: 'card', 'data-testid': 'count-sessions', 'aria-live': 'polite' },
      h('p', { class: 'muted' }, t('stocktake.loading')));
    const recountBox = h('div', { 'data-testid': 'count-recounts' });
    ctx.root.append(newCountForm(), listBox, recountBox);

    function newCountForm() {
      const chosen = { locations: new Map(), categories: new Set(), items: new Map(), tasks: new Set() };
      let scope = 'locations';
      let uncountedTouched = false;
      const name = h('input', { class: 'field', 'data-testid': 'count-name', maxlength: 120,
        value: t('stocktake.default_name', { date: new Date().toISOString().slice(0, 10) }) });
      const scopeSel = h('select', { class: 'field', 'data-testid': 'count-scope', onchange: () => { scope = scopeSel.value; drawPick(); syncUncounted(); } },
        SCOPES.map((s) => h('option', { value: s }, t(`stocktake.scope_${s}`))));
      const pick = h('div', { class: 'stack', 'data-testid': 'count-scope-pick' });
      const mode = h('select', { class: 'field', 'data-testid': 'count-mode' },
        h('option', { value: 'blind' }, t('stocktake.mode_blind')), h('option', { value: 'guided' }, t('stocktake.mode_guided')));
      const manager = ctx.hasRole('manager');
      const uncounted = h('select', { class: 'field', 'data-testid': 'count-uncounted', onchange: () => { uncountedTouched = true; syncUncounted(); } },
        h('option', { value: 'exclude' }, t('stocktake.uncounted_exclude')),
        h('option', { value: 'zero', disabled: !manager }, t(manager ? 'stocktake.uncounted_zero' : 'stocktake.uncounted_zero_manager')));
      const uncountedNote = h('p', { class: 'sub', 'data-testid': 'count-uncounted-note' });
      const go = h('button', { type: 'submit', class: 'btn primary big', 'data-testid': 'count-create' }, icon('plus'), t('stocktake.create'));

      // Zeroing suits a whole-store count only; a manager gets it pre-chosen there (and sees that it is),
      // everyone else — and every other scope — starts from "leave out".
      function syncUncounted() {
        if (!uncountedTouched) uncounted.value = manager && scope === 'store' ? 'zero' : 'exclude';
        uncountedNote.textContent = t(uncounted.value === 'zero' ? 'stocktake.uncounted_zero_note' : 'stocktake.uncounted_exclude_note');
      }

      const checkRow = (testid, label, sub, checked, onchange, extra = {}) => h('li', {},
        h('label', { class: 'row', style: { minHeight: '48px', padding: '4px 0' } },
          h('input', { type: 'checkbox', 'data-testid': testid, checked, ...extra, style: { width: '24px', height: '24px', flex: 'none' },
            onchange: (ev) => onchange(ev.target.checked) }),
          h('span', { class: 'grow' }, h('strong', {}, label), sub ? h('div', { class: 'sub' }, sub) : null)));
      const scroller = (...kids) => h('ul', { class: 'list', style: { maxHeight: '45vh', overflowY: 'auto' } }, ...kids);
      const chosenLine = (testid, values) => h('p', { class: 'sub', 'data-testid': testid },
        values.length ? t('stocktake.chosen', { list: values.join(', ') }) : t('stocktake.chosen_none'));

      let locs = null;
      async function allLocations() {
        if (locs) return locs;
        const out = [];
        for (let offset = 0; offset !== null && offset !== undefined;) {
          const p = await ctx.api.get('/locations', { limit: 500, offset });
          out.push(...p.items);
          offset = p.next_offset;
        }
        const byId = new Map(out.map((l) => [l.id, l]));
        const depth = (l) => { let d = 0; for (let p = byId.get(l.parent_id); p; p = byId.get(p.parent_id)) d += 1; return d; };
        locs = out.map((l) => ({ ...l, depth: depth(l) }));
        return locs;
      }

      async function drawPick() {
        const shown = scope;
        pick.replaceChildren(h('p', { class: 'muted' }, t('stocktake.loading')));
        try {
          if (scope === 'locations') {
            const all = await allLocations();
            const filter = h('input', { class: 'field', 'data-testid': 'count-loc-filter', placeholder: t('stocktake.loc_filter'),
              'aria-label': t('stocktake.loc_filter'), oninput: () => fill() });
            const list = scroller();
            const summary = h('div');
            const fill = () => {
              const q = filter.value.trim().toUpperCase();
              // bins are many: they show when searched for (or are added by scanning their label)
              const rows = all.filter((l) => l.kind !== 'store' && (q ? l.code.toUpperCase().includes(q) : l.kind !== 'bin'));
              list.replaceChildren(...rows.slice(0, 200).map((l) => checkRow('count-loc', l.code, l.name,
                chosen.locations.has(l.id), (on) => { if (on) chosen.locations.set(l.id, l.code); else chosen.locations.delete(l.id); sum(); },
                { 'data-code': l.code })));
              list.querySelectorAll('li').forEach((li, i) => { li.style.paddingLeft = `${Math.max(rows[i].depth - 1, 0) * 14}px`; });
            };
            const sum = () => summary.replaceChildren(chosenLine('count-loc-chosen', [...chosen.locations.values()]));
            addLocation = (loc) => { chosen.locations.set(loc.id, loc.code); fill(); sum(); ctx.feedback.success(); };
            fill(); sum();
            if (shown === scope) pick.replaceChildren(h('p', { class: 'sub' }, t('stocktake.loc_hint')), filter, list, summary);
            return;
          }
          addLocation = null;
          if (scope === 'categories') {
            const cats = (await ctx.api.get('/categories')).items;
            const body = cats.length ? scroller(...cats.map((c) => checkRow('count-cat', c, null, chosen.categories.has(c),
              (on) => { if (on) chosen.categories.add(c); else chosen.categories.delete(c); }, { 'data-category': c })))
              : h('p', { class: 'muted' }, t('stocktake.no_categories'));
            if (shown === scope) pick.replaceChildren(body);
          } else if (scope === 'items') {
            const q = h('input', { class: 'field', type: 'search', 'data-testid': 'count-item-q', placeholder: t('stocktake.item_search'),
              'aria-label': t('stocktake.item_search') });
            const results = scroller();
            const summary = h('div');
            const sum = () => summary.replaceChildren(chosenLine('count-item-chosen', [...chosen.items.values()]));
            const search = async () => {
              const p = await ctx.api.get('/items', { q: q.value.trim(), limit: 50 });
              results.replaceChildren(...p.items.map((it) => checkRow('count-item', it.sku, itemName(it, ctx.lang), chosen.items.has(it.id),
                (on) => { if (on) chosen.items.set(it.id, it.sku); else chosen.items.delete(it.id); sum(); }, { 'data-sku': it.sku })));
            };
            const form = h('form', { class: 'search-form', onsubmit: (ev) => { ev.preventDefault(); search().catch(() => {}); } }, q,
              h('button', { type: 'submit', class: 'btn', 'data-testid': 'count-item-go', 'aria-label': t('stocktake.item_search') }, icon('search')));
            sum();
            if (shown === scope) pick.replaceChildren(form, results, summary);
          } else if (scope === 'tasks') {
            const today = new Date().toISOString().slice(0, 10);
            const p = await ctx.api.get('/stocktake/cycle/tasks', { status: 'open', due_by: today, limit: 500 });
            chosen.tasks = new Set(p.items.map((x) => x.id));
            const body = p.items.length ? [h('p', { class: 'sub' }, t('stocktake.tasks_due', { n: ctx.fmt.number(p.total) })),
              scroller(...p.items.map((x) => checkRow('count-task', x.sku, `${x.abc_class} · ${x.due_date}`, true,
                (on) => { if (on) chosen.tasks.add(x.id); else chosen.tasks.delete(x.id); })))]
              : [h('p', { class: 'muted', 'data-testid': 'count-no-tasks' }, t('stocktake.no_tasks'))];
            if (shown === scope) pick.replaceChildren(...body);
          } else {
            pick.replaceChildren(h('p', { class: 'sub', 'data-testid': 'count-whole-store' }, t('stocktake.whole_store_note')));
          }
        } catch (err) {
          if (shown === scope) pick.replaceChildren(h('p', { class: 'muted' }, errText(ctx, err)));
        }
      }

      function body() {
        const b = { name: name.value.trim(), mode: mode.value, idempotency_key: ctx.newKey() };
        if (uncounted.value === 'zero') b.uncounted = 'zero';    // left out: the hub's safe default
        if (scope === 'locations') b.scope = { location_ids: [...chosen.locations.keys()] };
        if (scope === 'categories') b.scope = { categories: [...chosen.categories] };
        if (scope === 'items') b.scope = { item_ids: [...chosen.items.keys()] };
        if (scope === 'tasks') b.task_ids = [...chosen.tasks];
        const picked = scope === 'store' || (b.scope ? Object.values(b.scope)[0].length : b.task_ids.length);
        return picked ? b : null;
      }

      syncUncounted();
      drawPick();
      return h('form', {
        class: 'card stack', 'data-testid': 'count-new', onsubmit: async (ev) => {
          ev.preventDefault();
          const b = body();
          if (!b) { ctx.feedback.error(); ctx.toast(t('stocktake.choose_scope'), 'warn'); return; }
          go.disabled = true;
          try {
            const s = scope === 'tasks' ? await ctx.api.post('/stocktake/cycle/sessions', b)
              : await ctx.api.post('/stocktake/sessions', b);
            ctx.feedback.success();
            ctx.navigate('stocktake_count', { id: s.id });
          } catch (err) {
            go.disabled = false;
            ctx.feedback.error();
            ctx.toast(err.code === 'zeroing_needs_manager' ? t('stocktake.err_zero_manager') : errText(ctx, err), 'error');
          }
        },
      }, h('h3', {}, t('stocktake.new')), h('label', { class: 'label' }, t('stocktake.name'), name),
      h('label', { class: 'label' }, t('stocktake.scope'), scopeSel), pick,
      h('label', { class: 'label' }, t('stocktake.mode'), mode),
      h('label', { class: 'label' }, t('stocktake.uncounted'), uncounted), uncountedNote, go);
    }

    function cancelForm(s, row) {
      const reason = h('input', { class: 'field', 'data-testid': 'count-cancel-reason', maxlength: 200,
        placeholder: t('stocktake.cancel_reason_hint'), 'aria-label': t('stocktake.cancel_reason') });
      const confirm = h('button', { type: 'submit', class: 'btn danger', 'data-testid': 'count-cancel-confirm' }, icon('x'), t('stocktake.cancel_confirm'));
      const form = h('form', { class: 'stack', onsubmit: async (ev) => {
        ev.preventDefault();
        if (!reason.value.trim()) { ctx.feedback.error(); ctx.toast(t('stocktake.cancel_reason_needed'), 'warn'); return; }
        confirm.disabled = true;
        try {
          await ctx.api.post(`/stocktake/sessions/${s.id}/cancel`, { reason: reason.value.trim() });
          ctx.feedback.success();
          ctx.toast(t('stocktake.cancelled', { name: s.name }), 'success');
          await load();
        } catch (err) {
          confirm.disabled = false;
          ctx.feedback.error();
          ctx.toast(errText(ctx, err), 'error');
        }
      } }, h('label', { class: 'label' }, t('stocktake.cancel_reason'), reason), buttonRow([confirm], null, '100%'));
      row.append(form);
      reason.focus();
    }

    function sessionRow(s) {
      const actions = [];
      const li = h('li', { class: 'stack', style: { padding: '10px 0' }, 'data-testid': 'count-session', 'data-id': s.id });
      if (s.status === 'open') {
        actions.push(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'count-join',
          onclick: () => ctx.navigate('stocktake_count', { id: s.id }) }, icon('barcode'), t('stocktake.join')));
      }
      if (ctx.hasRole('supervisor') && (s.status === 'open' || s.status === 'review')) {
        actions.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'count-review',
          onclick: () => ctx.navigate('stocktake_review', { id: s.id }) }, icon('flag'), t('stocktake.review')));
      }
      if (ctx.hasRole('supervisor') || (ctx.user && s.created_by === ctx.user.id)) {
        const b = h('button', { type: 'button', class: 'btn danger', 'data-testid': 'count-cancel',
          onclick: () => { b.disabled = true; cancelForm(s, li); } }, icon('x'), t('stocktake.cancel'));
        actions.push(b);
      }
      li.append(
        h('div', { class: 'row' }, h('strong', { class: 'grow' }, s.name),
          h('span', { class: 'pill' }, t(`stocktake.status_${s.status}`))),
        h('div', { class: 'sub', 'data-testid': 'count-session-scope' }, scopeText(ctx, s.scope_summary)),
        // "full" only says "not from cycle tasks": the scope line above says what is counted
        h('div', { class: 'sub' }, [s.kind === 'cycle' ? t('stocktake.kind_cycle') : null, t(`stocktake.mode_${s.mode}`),
          t(`stocktake.uncounted_short_${s.uncounted}`), ctx.fmt.time(s.created_at)].filter(Boolean).join(' · ')),
        buttonRow(actions));
      return li;
    }

    async function load() {
      try {
        const [open, review] = await Promise.all([
          ctx.api.get('/stocktake/sessions', { status: 'open', limit: 50 }),
          ctx.hasRole('supervisor') ? ctx.api.get('/stocktake/sessions', { status: 'review', limit: 50 }) : { items: [], total: 0 },
        ]);
        const rows = [...open.items, ...review.items];
        const more = open.total + review.total - rows.length;
        listBox.replaceChildren(...[h('h3', {}, t('stocktake.open_counts')), rows.length
          ? h('ul', { class: 'list' }, rows.map(sessionRow))
          : h('div', { class: 'empty', 'data-testid': 'count-none' }, icon('clipboard', 'icon xl'), h('p', {}, t('stocktake.none'))),
        more > 0 ? h('p', { class: 'sub' }, t('stocktake.more_counts', { n: ctx.fmt.number(more) })) : null].filter(Boolean));
        const rc = await ctx.api.get('/stocktake/recounts');
        recountBox.replaceChildren(...(rc.items.length ? [h('div', { class: 'card' }, h('h3', {}, t('stocktake.recounts')),
          h('ul', { class: 'list' }, rc.items.map((r) => h('li', {},
            h('button', { type: 'button', class: 'list-btn', 'data-testid': 'count-recount',
              onclick: () => ctx.navigate('stocktake_count', { id: r.session_id, rc_item: r.item_id, rc_loc: r.location_id,
                rc_sku: r.sku, rc_code: r.location_code }) },
            icon('flag', 'icon lg'), h('span', { class: 'grow' }, h('strong', {}, r.sku),
              h('div', { class: 'sub' }, `${r.location_code} · ${r.session_name}`)), icon('chevron'))))))] : []));
      } catch (err) {
        listBox.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
      }
    }
    ctx.onLive('count.session', () => load());
    ctx.onLive('count.recount', () => load());
    await load();
  },
  onScan(code, ctx, scan) {
    if (!addLocation || !scan.resolved || !scan.resolved.location) return false;
    addLocation(scan.resolved.location);
    return true;
  },
  onLeave() {
    addLocation = null;
  },
};
