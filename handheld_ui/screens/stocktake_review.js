// Supervisor view of a count: live progress per counter (and the zones they signed off) while it is open;
// then the variance review — every line, a page at a time (largest losses first, at cost), recount of
// selected lines or of every line off, and approval, the only step that changes stock. Approval shows what
// is at stake (net and absolute variance at cost, lines it changes); above the store's threshold the figures
// must be confirmed with a tick, and the hub refuses the approval without it. The approval key is fixed per
// screen, so a double tap approves once. A count can be cancelled (with a reason) until it is approved.

import { h, icon } from '../js/dom.js';
import { itemName } from './lookup.js';
import { buttonRow, errText, scopeText } from './stocktake.js';

const PAGE = 50;
const FILTERS = ['all', 'variance', 'excluded'];

export default {
  id: 'stocktake_review',
  titleKey: 'stocktake_review.title',
  minRole: 'supervisor',
  icon: 'flag',
  home: false,
  async render(ctx, params) {
    const { t } = ctx;
    const id = params.id;
    const st = { approveKey: ctx.newKey(), armed: false, confirmed: false, selected: new Set(), report: null,
      session: null, which: 'all', offset: 0, page: null, cancelling: null };
    const head = h('div', { class: 'stack', 'data-testid': 'review-head' });
    const progressBox = h('div', { 'data-testid': 'review-progress-box' });
    const body = h('div', { class: 'stack', 'data-testid': 'review-body' });
    ctx.root.append(head, progressBox, body);

    const money = (m) => ctx.fmt.money(m);
    const statBox = (testid, value, key, neg) => h('div', { class: neg ? 'stat neg' : 'stat', style: { minWidth: '0' } },
      h('div', { class: 'v', 'data-testid': testid, style: { overflowWrap: 'anywhere', fontSize: '1.2rem' } }, value),
      h('div', { class: 'k', style: { whiteSpace: 'normal' } }, t(key)));

    async function load() {
      try {
        st.session = await ctx.api.get(`/stocktake/sessions/${id}`);
        st.report = await ctx.api.get(`/stocktake/sessions/${id}/variance`, { limit: 1 });
        st.page = await ctx.api.get(`/stocktake/sessions/${id}/lines`, { which: st.which, limit: PAGE, offset: st.offset });
      } catch (err) {
        body.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
        return;
      }
      draw();
      if (st.session.status === 'open') await drawProgress();
      else progressBox.replaceChildren();
    }

    function actions() {
      const s = st.session;
      const out = [];
      if (s.status === 'open') {
        out.push(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'review-close',
          onclick: () => act('close') }, icon('check'), t('stocktake_review.close')));
      }
      if (s.status === 'review') {
        out.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'review-reopen', onclick: () => act('reopen') },
          icon('back'), t('stocktake_review.reopen')));
      }
      if ((s.status === 'open' || s.status === 'review') && !st.cancelling) {
        out.push(h('button', { type: 'button', class: 'btn danger', 'data-testid': 'review-cancel',
          onclick: () => { st.cancelling = cancelCard(); draw(); } }, icon('x'), t('stocktake_review.cancel')));
      }
      return out;
    }

    function cancelCard() {
      const reason = h('input', { class: 'field', 'data-testid': 'review-cancel-reason', maxlength: 200,
        placeholder: t('stocktake_review.cancel_reason_hint'), 'aria-label': t('stocktake_review.cancel_reason') });
      const go = h('button', { type: 'submit', class: 'btn danger', 'data-testid': 'review-cancel-confirm' }, icon('x'),
        t('stocktake_review.cancel_confirm'));
      const keep = h('button', { type: 'button', class: 'btn', 'data-testid': 'review-cancel-keep',
        onclick: () => { st.cancelling = null; draw(); } }, t('stocktake_review.cancel_keep'));
      setTimeout(() => reason.focus(), 0);
      return h('form', { class: 'card stack', 'data-testid': 'review-cancel-form', onsubmit: async (ev) => {
        ev.preventDefault();
        if (!reason.value.trim()) { ctx.feedback.error(); ctx.toast(t('stocktake_review.cancel_reason_needed'), 'warn'); return; }
        go.disabled = true;
        try {
          await ctx.api.post(`/stocktake/sessions/${id}/cancel`, { reason: reason.value.trim() });
          ctx.feedback.success();
          ctx.toast(t('stocktake_review.cancelled'), 'success');
          st.cancelling = null;
        } catch (err) {
          go.disabled = false;
          ctx.feedback.error();
          ctx.toast(errText(ctx, err), 'error');
          return;
        }
        await load();
      } }, h('p', { class: 'sub' }, t('stocktake_review.cancel_explain')),
      h('label', { class: 'label' }, t('stocktake_review.cancel_reason'), reason), buttonRow([go, keep], null, '100%'));
    }

    // What approving would do, and — above the threshold — the tick that confirms the figures were read.
    function stakeCard() {
      const k = st.report.stake;
      const s = st.session;
      const approve = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'review-approve',
        disabled: k.needs_confirmation && !st.confirmed, onclick: () => doApprove(approve) }, icon('check'),
      t(st.armed ? 'stocktake_review.approve_confirm' : 'stocktake_review.approve'));
      const parts = [h('h3', {}, t('stocktake_review.at_stake')),
        h('p', { 'data-testid': 'review-stake-text' }, t('stocktake_review.stake_text', {
          n: ctx.fmt.number(k.lines_with_variance), net: money(k.net_variance_cost_minor), abs: money(k.abs_variance_cost_minor) }))];
      if (k.lines_uncounted_zeroed) {
        parts.push(h('p', { class: 'sub', 'data-testid': 'review-zeroed' }, t('stocktake_review.zeroed_warning', { n: ctx.fmt.number(k.lines_uncounted_zeroed) })));
      }
      if (k.needs_role === 'manager' && !ctx.hasRole('manager')) {
        parts.push(h('p', { class: 'sub' }, t('stocktake_review.needs_manager')));
      }
      if (k.needs_confirmation) {
        const box = h('input', { type: 'checkbox', 'data-testid': 'review-confirm', checked: st.confirmed,
          style: { width: '24px', height: '24px', flex: 'none' },
          onchange: () => { st.confirmed = box.checked; approve.disabled = !st.confirmed; } });
        parts.push(h('label', { class: 'row', style: { minHeight: '48px' } }, box,
          h('span', { class: 'grow' }, t('stocktake_review.confirm_figures', { abs: money(k.abs_variance_cost_minor),
            limit: money(k.confirm_above_minor) }))));
      }
      if (s.status === 'review') parts.push(approve);
      return h('div', { class: 'card stack', 'data-testid': 'review-stake', 'data-confirm': k.needs_confirmation ? '1' : '0' }, ...parts);
    }

    function lineRow(x, selectable) {
      const key = `${x.item_id}|${x.location_id}`;
      const box = h('input', { type: 'checkbox', 'data-testid': 'review-select', checked: st.selected.has(key),
        style: { width: '24px', height: '24px', flex: 'none' }, 'aria-label': t('stocktake_review.select'),
        onchange: () => { if (box.checked) st.selected.add(key); else st.selected.delete(key); } });
      const excluded = x.variance === null;
      return h('li', { class: 'row', style: { padding: '8px 0' }, 'data-testid': 'review-line', 'data-sku': x.sku,
        'data-location': x.location_code, 'data-variance': excluded ? '' : String(x.variance) },
      selectable && !excluded ? box : null,
      h('span', { class: 'grow' }, h('strong', {}, itemName(x, ctx.lang)),
        h('div', { class: 'sub' }, `${x.location_code} · ${t(`stocktake_review.source_${excluded ? 'excluded' : x.source}`)}${x.recount_status ? ` · ${t(`stocktake_review.recount_${x.recount_status}`)}` : ''}`),
        excluded ? h('div', { class: 'sub' }, t('stocktake_review.book_only', { expected: ctx.fmt.qty(x.expected, x.unit) }))
          : h('div', { class: 'sub' }, t('stocktake_review.counted_of', { counted: ctx.fmt.qty(x.counted, x.unit), expected: ctx.fmt.qty(x.expected, x.unit) }))),
      excluded ? null : h('span', { class: 'stack num', style: { alignItems: 'flex-end', gap: '2px' } },
        h('strong', {}, `${x.variance > 0 ? '+' : ''}${ctx.fmt.qty(x.variance, x.unit)}`),
        h('span', { class: 'sub' }, money(x.variance_cost_minor))));
    }

    function linesCard() {
      const s = st.session;
      const p = st.page;
      const selectable = s.status === 'review' && st.which !== 'excluded';
      const chips = h('div', { class: 'chips' }, FILTERS.map((f) => h('button', { type: 'button', class: 'chip',
        'data-testid': `review-filter-${f}`, 'aria-pressed': st.which === f ? 'true' : 'false',
        onclick: () => { st.which = f; st.offset = 0; load(); } }, t(`stocktake_review.filter_${f}`))));
      const from = p.total ? p.offset + 1 : 0;
      const to = p.offset + p.items.length;
      const pager = buttonRow([
        h('button', { type: 'button', class: 'btn', 'data-testid': 'review-prev', disabled: p.offset === 0,
          onclick: () => { st.offset = Math.max(0, p.offset - PAGE); load(); } }, icon('back'), t('stocktake_review.prev')),
        h('button', { type: 'button', class: 'btn', 'data-testid': 'review-next', disabled: p.next_offset === null,
          onclick: () => { st.offset = p.next_offset; load(); } }, t('stocktake_review.next'), icon('chevron')),
      ]);
      const parts = [h('h3', {}, t('stocktake_review.lines')), chips,
        h('p', { class: 'sub', 'data-testid': 'review-page', 'data-total': String(p.total) },
          t('stocktake_review.page_of', { from: ctx.fmt.number(from), to: ctx.fmt.number(to), total: ctx.fmt.number(p.total) }))];
      if (selectable && p.items.length) {
        parts.push(h('label', { class: 'row', style: { minHeight: '48px' } },
          h('input', { type: 'checkbox', 'data-testid': 'review-select-page', style: { width: '24px', height: '24px', flex: 'none' },
            onchange: (ev) => {
              for (const x of p.items) { if (x.variance !== null) { const k = `${x.item_id}|${x.location_id}`; if (ev.target.checked) st.selected.add(k); else st.selected.delete(k); } }
              body.querySelectorAll('[data-testid=review-select]').forEach((b) => { b.checked = ev.target.checked; });
            } }), h('span', { class: 'grow' }, t('stocktake_review.select_page'))));
      }
      parts.push(p.items.length ? h('ul', { class: 'list', 'data-testid': 'review-line-list' }, p.items.map((x) => lineRow(x, selectable)))
        : h('p', { class: 'muted' }, t('stocktake_review.no_lines')));
      if (p.total > p.items.length) parts.push(pager);
      return h('div', { class: 'card stack' }, ...parts);
    }

    function recountCard() {
      const s = st.session;
      const who = h('select', { class: 'field', 'data-testid': 'review-assign' }, h('option', { value: '' }, t('stocktake_review.anyone')),
        (s.counters || []).map((c) => h('option', { value: c.user_id }, c.display_name || c.user_id)));
      return h('div', { class: 'card stack' }, h('label', { class: 'label' }, t('stocktake_review.assign'), who),
        buttonRow([
          h('button', { type: 'button', class: 'btn', 'data-testid': 'review-recount', onclick: () => askRecount(who.value || null) },
            icon('flag'), t('stocktake_review.recount')),
          h('button', { type: 'button', class: 'btn', 'data-testid': 'review-recount-all', onclick: () => askRecount(who.value || null, true) },
            icon('flag'), t('stocktake_review.recount_all', { n: ctx.fmt.number(st.report.totals.lines_with_variance) })),
        ], null, '100%'));
    }

    function draw() {
      const s = st.session;
      const r = st.report;
      const tt = r.totals;
      head.replaceChildren(...[
        h('div', { class: 'row' }, h('strong', { class: 'grow' }, s.name),
          h('span', { class: 'pill', 'data-testid': 'review-status' }, t(`stocktake_review.status_${s.status}`))),
        h('p', { class: 'sub', 'data-testid': 'review-scope' }, `${scopeText(ctx, s.scope_summary)} · ${t(`stocktake_review.uncounted_${s.uncounted}`)}`),
        s.status === 'cancelled' && s.cancel_reason
          ? h('p', { class: 'sub', 'data-testid': 'review-cancel-reason-shown' }, t('stocktake_review.cancelled_because', { reason: s.cancel_reason })) : null,
        h('div', { style: { display: 'grid', gridTemplateColumns: 'repeat(2, minmax(0, 1fr))', gap: '8px' } },
          statBox('review-lines', `${ctx.fmt.number(tt.lines_with_variance)} / ${ctx.fmt.number(tt.lines)}`, 'stocktake_review.lines_off'),
          statBox('review-accuracy', tt.line_accuracy_pct === null ? '—' : `${tt.line_accuracy_pct}%`, 'stocktake_review.accuracy'),
          statBox('review-net', money(tt.net_variance_cost_minor), 'stocktake_review.net', tt.net_variance_cost_minor < 0),
          statBox('review-abs', money(r.stake.abs_variance_cost_minor), 'stocktake_review.abs'),
          statBox('review-shrink', money(tt.shrink_cost_minor), 'stocktake_review.shrink', tt.shrink_cost_minor < 0),
          statBox('review-excluded-n', ctx.fmt.number(tt.lines_excluded), 'stocktake_review.excluded_n')),
        buttonRow(actions(), 'review-actions')].filter(Boolean));
      const parts = [];
      // the same form across live redraws: a reason half typed is not lost when a scan arrives
      if (st.cancelling && (s.status === 'open' || s.status === 'review')) parts.push(st.cancelling);
      if (s.status === 'review' || s.status === 'open') parts.push(stakeCard());
      parts.push(linesCard());
      if (s.status === 'review' && tt.lines_with_variance) parts.push(recountCard());
      if (r.rfid && r.rfid.unique_tags) {
        const f = r.rfid;
        parts.push(h('div', { class: 'card', 'data-testid': 'review-rfid' }, h('h3', {}, t('stocktake_review.rfid')),
          h('p', { class: 'sub' }, t('stocktake_review.rfid_summary', { tags: f.unique_tags, counted: f.counted_tags,
            weak: f.filtered_weak_or_few, cases: f.cases_pallets, unknown: f.unknown_gtin + f.undecodable }))));
      }
      body.replaceChildren(...parts);
    }

    async function drawProgress() {
      let p;
      try {
        p = await ctx.api.get(`/stocktake/sessions/${id}/progress`);
      } catch (err) {
        return;
      }
      const zones = p.zones_done || [];
      progressBox.replaceChildren(h('div', { class: 'card', 'data-testid': 'review-progress' }, h('h3', {}, t('stocktake_review.live')),
        h('ul', { class: 'list' }, p.counters.map((c) => h('li', { class: 'row', style: { minHeight: '48px' }, 'data-testid': 'review-counter' },
          icon('user'), h('span', { class: 'grow' }, c.display_name || c.user_id,
            h('div', { class: 'sub' }, c.current_location_code || '—')),
          h('strong', { class: 'num', 'data-testid': 'review-counter-scans' }, ctx.fmt.number(c.scans))))),
        zones.length ? h('div', { class: 'stack', style: { marginTop: '10px' } }, h('strong', {}, t('stocktake_review.zones_done')),
          h('ul', { class: 'list' }, zones.map((z) => h('li', { class: 'row', style: { minHeight: '44px' }, 'data-testid': 'review-zone-done',
            'data-location': z.location_code }, icon('check'), h('span', { class: 'grow' }, h('strong', {}, z.location_code),
            h('div', { class: 'sub' }, `${z.display_name || z.user_id} · ${ctx.fmt.time(z.done_at)}`))))))
          : h('p', { class: 'sub', 'data-testid': 'review-zones-none' }, t('stocktake_review.zones_none'))));
    }

    async function act(what) {
      try {
        await ctx.api.post(`/stocktake/sessions/${id}/${what}`, {});
        ctx.feedback.success();
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
      st.offset = 0;
      await load();
    }

    async function askRecount(assignee, all = false) {
      const lines = [...st.selected].map((k) => { const [item_id, location_id] = k.split('|'); return { item_id, location_id }; });
      if (!all && !lines.length) { ctx.toast(t('stocktake_review.select_first'), 'warn'); return; }
      try {
        const out = await ctx.api.post(`/stocktake/sessions/${id}/recounts`,
          all ? { which: 'variance', assigned_to: assignee } : { lines, assigned_to: assignee });
        st.selected.clear();
        ctx.feedback.success();
        ctx.toast(t('stocktake_review.recount_sent', { n: ctx.fmt.number(out.requested) }), 'success');
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
      await load();
    }

    async function doApprove(btn) {
      const k = st.report.stake;
      if (!k.needs_confirmation && !st.armed) {
        st.armed = true;
        btn.lastChild.textContent = t('stocktake_review.approve_confirm');
        return;
      }
      btn.disabled = true;
      try {
        const out = await ctx.api.post(`/stocktake/sessions/${id}/approve`,
          { idempotency_key: st.approveKey, confirm: k.needs_confirmation && st.confirmed });
        ctx.feedback.success();
        ctx.toast(t('stocktake_review.approved', { n: ctx.fmt.number(out.movements.length) }), 'success');
      } catch (err) {
        ctx.feedback.error();
        const msg = { wrong_role: 'stocktake_review.needs_manager', approval_needs_confirmation: 'stocktake_review.needs_confirmation' }[err.code];
        ctx.toast(msg ? t(msg) : errText(ctx, err), 'error');
        btn.disabled = false;
      }
      st.armed = false;
      st.confirmed = false;
      await load();
    }

    let pending = null;
    const soon = () => { clearTimeout(pending); pending = setTimeout(() => { if (!ctx.signal.aborted) load(); }, 300); };
    ctx.onLive('count.scan', (p) => { if (p.session_id === id) soon(); });
    ctx.onLive('count.undo', (p) => { if (p.session_id === id) soon(); });
    ctx.onLive('count.rfid', (p) => { if (p.session_id === id) soon(); });
    ctx.onLive('count.session', (p) => { if (p.id === id) soon(); });
    ctx.signal.addEventListener('abort', () => clearTimeout(pending));
    await load();
  },
};
