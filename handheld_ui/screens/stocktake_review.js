// Supervisor view of a count: live progress per counter while it is open; then the variance review
// (largest losses first, at cost), recount of selected lines by another counter, and approval — which is
// the only step that changes stock. The approval key is fixed per screen, so a double tap approves once.

import { h, icon } from '../js/dom.js';
import { itemName } from './lookup.js';
import { errText } from './stocktake.js';

export default {
  id: 'stocktake_review',
  titleKey: 'stocktake_review.title',
  minRole: 'supervisor',
  icon: 'flag',
  home: false,
  async render(ctx, params) {
    const { t } = ctx;
    const id = params.id;
    const st = { approveKey: ctx.newKey(), armed: false, selected: new Set(), report: null, session: null, timer: null };
    const head = h('div', { 'data-testid': 'review-head' });
    const body = h('div', { 'data-testid': 'review-body' });
    ctx.root.append(head, body);

    const money = (m) => ctx.fmt.money(m);
    const statBox = (testid, value, key, neg) => h('div', { class: neg ? 'stat neg' : 'stat' },
      h('div', { class: 'v', 'data-testid': testid }, value), h('div', { class: 'k' }, t(key)));

    async function load() {
      try {
        st.session = await ctx.api.get(`/stocktake/sessions/${id}`);
        st.report = await ctx.api.get(`/stocktake/sessions/${id}/variance`, { limit: 500 });
      } catch (err) {
        body.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
        return;
      }
      draw();
      if (st.session.status === 'open') await drawProgress();
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
        const approve = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'review-approve',
          onclick: () => doApprove(approve) }, icon('check'), t(st.armed ? 'stocktake_review.approve_confirm' : 'stocktake_review.approve'));
        out.push(approve);
      }
      return out;
    }

    function draw() {
      const s = st.session;
      const r = st.report;
      const tt = r.totals;
      head.replaceChildren(
        h('div', { class: 'row' }, h('strong', { class: 'grow' }, s.name),
          h('span', { class: 'pill', 'data-testid': 'review-status' }, t(`stocktake_review.status_${s.status}`))),
        h('div', { style: { display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '8px' } },
          statBox('review-accuracy', tt.line_accuracy_pct === null ? '—' : `${tt.line_accuracy_pct}%`, 'stocktake_review.accuracy'),
          statBox('review-lines', `${tt.lines_with_variance} / ${tt.lines}`, 'stocktake_review.lines_off'),
          statBox('review-shrink', money(tt.shrink_cost_minor), 'stocktake_review.shrink', tt.shrink_cost_minor < 0),
          statBox('review-net', money(tt.net_variance_cost_minor), 'stocktake_review.net', tt.net_variance_cost_minor < 0)),
        h('div', { class: 'row' }, actions()));
      const rows = r.lines.map((x) => {
        const key = `${x.item_id}|${x.location_id}`;
        const box = h('input', { type: 'checkbox', 'data-testid': 'review-select', checked: st.selected.has(key),
          'aria-label': t('stocktake_review.select'), onchange: () => { if (box.checked) st.selected.add(key); else st.selected.delete(key); } });
        return h('li', { class: 'row', 'data-testid': 'review-line', 'data-sku': x.sku, 'data-variance': String(x.variance) },
          s.status === 'review' ? box : null,
          h('span', { class: 'grow' }, h('strong', {}, itemName(x, ctx.lang)),
            h('div', { class: 'sub' }, `${x.location_code} · ${t(`stocktake_review.source_${x.source}`)}${x.recount_status ? ` · ${t(`stocktake_review.recount_${x.recount_status}`)}` : ''}`),
            h('div', { class: 'sub' }, t('stocktake_review.counted_of', { counted: ctx.fmt.qty(x.counted, x.unit), expected: ctx.fmt.qty(x.expected, x.unit) }))),
          h('span', { class: 'stack num' }, h('strong', {}, `${x.variance > 0 ? '+' : ''}${ctx.fmt.qty(x.variance, x.unit)}`),
            h('span', { class: 'sub' }, money(x.variance_cost_minor))));
      });
      const parts = [h('div', { class: 'card' }, h('h3', {}, t('stocktake_review.lines')),
        rows.length ? h('ul', { class: 'list' }, rows) : h('p', { class: 'muted' }, t('stocktake_review.no_lines')))];
      if (r.excluded.length) {
        parts.push(h('div', { class: 'card', 'data-testid': 'review-excluded' }, h('h3', {}, t('stocktake_review.excluded', { n: r.excluded.length })),
          h('ul', { class: 'list' }, r.excluded.slice(0, 50).map((x) => h('li', { class: 'row' }, h('span', { class: 'grow' }, itemName(x, ctx.lang)),
            h('span', { class: 'sub' }, x.location_code))))));
      }
      if (s.status === 'review' && r.lines.length) {
        const who = h('select', { class: 'field', 'data-testid': 'review-assign' }, h('option', { value: '' }, t('stocktake_review.anyone')),
          (s.counters || []).map((c) => h('option', { value: c.user_id }, c.display_name || c.user_id)));
        parts.push(h('div', { class: 'card stack' }, h('label', { class: 'label' }, t('stocktake_review.assign'), who),
          h('button', { type: 'button', class: 'btn', 'data-testid': 'review-recount', onclick: () => askRecount(who.value || null) },
            icon('flag'), t('stocktake_review.recount'))));
      }
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
      const box = h('div', { class: 'card', 'data-testid': 'review-progress' }, h('h3', {}, t('stocktake_review.live')),
        h('ul', { class: 'list' }, p.counters.map((c) => h('li', { class: 'row', 'data-testid': 'review-counter' },
          icon('user'), h('span', { class: 'grow' }, c.display_name || c.user_id,
            h('div', { class: 'sub' }, c.current_location_code || '—')),
          h('strong', { class: 'num', 'data-testid': 'review-counter-scans' }, ctx.fmt.number(c.scans))))));
      body.prepend(box);
    }

    async function act(what) {
      try {
        await ctx.api.post(`/stocktake/sessions/${id}/${what}`, {});
        ctx.feedback.success();
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
      await load();
    }

    async function askRecount(assignee) {
      const lines = [...st.selected].map((k) => { const [item_id, location_id] = k.split('|'); return { item_id, location_id }; });
      if (!lines.length) { ctx.toast(t('stocktake_review.select_first'), 'warn'); return; }
      try {
        await ctx.api.post(`/stocktake/sessions/${id}/recounts`, { lines, assigned_to: assignee });
        st.selected.clear();
        ctx.feedback.success();
        ctx.toast(t('stocktake_review.recount_sent', { n: lines.length }), 'success');
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
      await load();
    }

    async function doApprove(btn) {
      if (!st.armed) {
        st.armed = true;
        btn.lastChild.textContent = t('stocktake_review.approve_confirm');
        return;
      }
      btn.disabled = true;
      try {
        const out = await ctx.api.post(`/stocktake/sessions/${id}/approve`, { idempotency_key: st.approveKey });
        ctx.feedback.success();
        ctx.toast(t('stocktake_review.approved', { n: out.movements.length }), 'success');
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(err.code === 'wrong_role' ? t('stocktake_review.needs_manager') : errText(ctx, err), 'error');
        btn.disabled = false;
      }
      st.armed = false;
      await load();
    }

    let pending = null;
    const soon = () => { clearTimeout(pending); pending = setTimeout(() => { if (!ctx.signal.aborted) load(); }, 300); };
    ctx.onLive('count.scan', (p) => { if (p.session_id === id) soon(); });
    ctx.onLive('count.undo', (p) => { if (p.session_id === id) soon(); });
    ctx.onLive('count.rfid', (p) => { if (p.session_id === id) soon(); });
    ctx.signal.addEventListener('abort', () => clearTimeout(pending));
    await load();
  },
};
