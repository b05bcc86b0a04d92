// Staff — my time: clock in/out and breaks (PIN session on this handheld), my shifts of the week, my hours and
// exceptions, my leave requests. The hub decides everything; this screen shows its answers (docs/staff.md).

import { h, icon } from '../js/dom.js';

const pad = (n) => String(n).padStart(2, '0');
const isoDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
function mondayOf(d) { const m = new Date(d); m.setDate(m.getDate() - ((m.getDay() + 6) % 7)); return m; }
function addDays(d, n) { const x = new Date(d); x.setDate(x.getDate() + n); return x; }
const hours = (s) => (s / 3600).toFixed(2);

export default {
  id: 'staff',
  titleKey: 'staff.title',
  minRole: 'associate',
  icon: 'clock',
  order: 105,   // after the built-in tiles; unique per domain (its migration block)
  async render(ctx) {
    const { t } = ctx;
    const tz = ctx.store && ctx.store.timezone;
    const time = (iso) => iso ? new Date(iso).toLocaleString(ctx.lang, { timeZone: tz, weekday: 'short',
      month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : '—';
    let week = mondayOf(new Date());

    const stateBox = h('div', { class: 'card stack', 'data-testid': 'staff-clock', 'aria-live': 'polite' });
    const shiftsBox = h('div', { class: 'card stack', 'data-testid': 'staff-shifts' });
    const hoursBox = h('div', { class: 'card stack', 'data-testid': 'staff-hours' });
    const leaveBox = h('div', { class: 'card stack', 'data-testid': 'staff-leave' });

    const errMsg = (err) => {
      const key = `staff.err_${err.code}`;
      const text = t(key);
      return text === key ? err.message : text;
    };
    async function act(path, body, after) {
      try {
        const res = await ctx.api.post(path, body);
        ctx.feedback.success();
        await after(res);
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(err.offline ? t('core.err_offline') : errMsg(err), 'error');
      }
    }

    async function loadState() {
      try {
        const st = await ctx.api.get('/staff/me');
        const button = (action, cls, testid) => h('button', { class: `btn ${cls} big`, type: 'button',
          'data-testid': testid, onclick: () => act('/staff/clock', { action }, async (res) => {
            ctx.toast(t(res.counted ? `staff.done_${action}` : 'staff.repeat'), res.counted ? 'ok' : 'warn');
            await Promise.all([loadState(), loadHours()]);
          }) }, icon('clock'), t(`staff.action_${action}`));
        const status = !st.clocked_in ? t('staff.out_now')
          : st.on_break ? t('staff.on_break_since', { since: time(st.since) }) : t('staff.in_since', { since: time(st.since) });
        const buttons = !st.clocked_in ? [button('in', 'primary', 'staff-clock-in')]
          : st.on_break ? [button('break_end', 'primary', 'staff-break-end')]
          : [button('out', 'primary', 'staff-clock-out'), button('break_start', '', 'staff-break-start')];
        stateBox.replaceChildren(h('h2', {}, t('staff.clock')),
          h('p', { class: 'big', 'data-testid': 'staff-status', 'data-in': st.clocked_in ? '1' : '0' }, status),
          h('div', { class: 'row' }, buttons));
      } catch (err) {
        stateBox.replaceChildren(h('p', { class: 'empty error' }, err.message));
      }
    }

    async function loadShifts() {
      const weekLabel = h('span', { 'data-testid': 'staff-week' }, isoDay(week));
      const nav = h('div', { class: 'row' },
        h('button', { class: 'btn', type: 'button', 'aria-label': t('staff.prev_week'),
          onclick: () => { week = addDays(week, -7); loadShifts(); } }, icon('back')), weekLabel,
        h('button', { class: 'btn', type: 'button', 'aria-label': t('staff.next_week'),
          onclick: () => { week = addDays(week, 7); loadShifts(); } }, icon('chevron')));
      try {
        const res = await ctx.api.get(`/staff/me/shifts/${isoDay(week)}`);
        const kinds = Object.fromEntries(res.days.map((d) => [d.day, d]));
        const list = res.status !== 'published'
          ? h('p', { class: 'muted' }, t('staff.not_published'))
          : res.shifts.length
            ? h('ul', { class: 'list' }, res.shifts.map((s) => {
              const day = isoDay(new Date(s.starts_at));
              const kind = kinds[day] ? kinds[day].kind : 'workday';
              return h('li', { 'data-testid': 'staff-my-shift' }, `${time(s.starts_at)} – ${time(s.ends_at)} · ${s.role} · ${s.area}`,
                kind !== 'workday' ? h('span', { class: 'badge warn' }, t(`staff.kind_${kind}`)) : null);
            }))
            : h('p', { class: 'muted' }, t('staff.no_shifts'));
        shiftsBox.replaceChildren(h('h2', {}, t('staff.my_shifts')), nav, list);
      } catch (err) {
        shiftsBox.replaceChildren(h('h2', {}, t('staff.my_shifts')), nav, h('p', { class: 'empty error' }, err.message));
      }
    }

    async function loadHours() {
      const from = isoDay(mondayOf(new Date()));
      const to = isoDay(addDays(mondayOf(new Date()), 6));
      try {
        const [rec, perf] = await Promise.all([ctx.api.get('/staff/me/record', { from, to }),
          ctx.api.get('/staff/me/performance', { from, to })]);
        const mine = perf.people[0];
        hoursBox.replaceChildren(h('h2', {}, t('staff.my_hours')),
          h('p', { class: 'big', 'data-testid': 'staff-worked' }, t('staff.worked_week', { hours: hours(rec.worked_s) })),
          ...(mine && (mine.sales || mine.returns) ? [h('p', { 'data-testid': 'staff-sales' }, t('staff.my_sales', {
            sales: mine.sales, items: mine.items, per_hour: mine.items_per_hour === null ? '–' : mine.items_per_hour,
            net: (mine.net_sales_minor / 100).toFixed(2), commission: (mine.commission_minor / 100).toFixed(2) }))] : []),
          h('ul', { class: 'list' }, rec.sessions.map((s) => h('li', { 'data-testid': 'staff-session' },
            `${time(s.started_at)} – ${s.ended_at ? time(s.ended_at) : t('staff.open')}`,
            s.ended_at ? ` · ${hours(s.worked_s)} h` : ''))),
          // replaceChildren() would print a null as the text "null": pass the list only when there is one
          ...(rec.exceptions.length ? [h('ul', { class: 'list', 'data-testid': 'staff-exceptions' }, rec.exceptions.map((e) =>
            h('li', { class: 'warn' }, t(`staff.exception_${e.kind}`, { minutes: e.minutes }))))] : []));
      } catch (err) {
        hoursBox.replaceChildren(h('p', { class: 'empty error' }, err.message));
      }
    }

    async function loadLeave() {
      const first = h('input', { type: 'date', id: 'staff-leave-first', required: true });
      const last = h('input', { type: 'date', id: 'staff-leave-last', required: true });
      const kind = h('select', { id: 'staff-leave-kind' }, ['annual', 'sick', 'personal', 'other'].map((k) =>
        h('option', { value: k }, t(`staff.leave_${k}`))));
      const form = h('form', { class: 'stack', 'data-testid': 'staff-leave-form' },
        h('label', { for: 'staff-leave-first' }, t('staff.leave_first')), first,
        h('label', { for: 'staff-leave-last' }, t('staff.leave_last')), last,
        h('label', { for: 'staff-leave-kind' }, t('staff.leave_kind')), kind,
        h('button', { class: 'btn primary', type: 'submit' }, icon('check'), t('staff.leave_ask')));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        act('/staff/leave', { first_day: first.value, last_day: last.value || first.value, kind: kind.value },
          async () => { ctx.toast(t('staff.leave_sent'), 'ok'); await loadLeave(); });
      });
      let items = [];
      try { items = (await ctx.api.get('/staff/me/leave')).items; } catch (err) { items = []; }
      leaveBox.replaceChildren(h('h2', {}, t('staff.leave')), form,
        h('ul', { class: 'list' }, items.map((l) => h('li', { 'data-testid': 'staff-leave-row' },
          `${l.first_day} – ${l.last_day} · ${t(`staff.leave_${l.kind}`)} · `, h('strong', {}, t(`staff.status_${l.status}`))))));
    }

    ctx.onLive('staff.roster.published', (f) => { if ((f.user_ids || []).includes(ctx.user.id)) loadShifts(); });
    ctx.onLive('staff.roster.changed', (f) => {
      if ((f.user_ids || []).includes(ctx.user.id)) { ctx.toast(t('staff.roster_changed'), 'warn'); loadShifts(); }
    });
    ctx.root.append(h('h1', { id: 'title' }, t('staff.title')), stateBox, shiftsBox, hoursBox, leaveBox);
    await Promise.all([loadState(), loadShifts(), loadHours(), loadLeave()]);
  },
};
