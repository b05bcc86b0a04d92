// Staff — the supervisor's roster week: shifts by day with the rule each breaks, add a shift (refused with the
// rule named), copy last week, publish; staff needed per hour from the sales history beside coverage, and a
// suggested roster to accept; leave requests to decide; today's attendance exceptions (docs/staff.md).

import { h, icon } from '../js/dom.js';

const pad = (n) => String(n).padStart(2, '0');
const isoDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
function mondayOf(d) { const m = new Date(d); m.setDate(m.getDate() - ((m.getDay() + 6) % 7)); return m; }
function addDays(d, n) { const x = new Date(d); x.setDate(x.getDate() + n); return x; }

export default {
  id: 'staff_roster',
  titleKey: 'staff_roster.title',
  minRole: 'supervisor',
  icon: 'clipboard',
  order: 106,
  async render(ctx) {
    const { t } = ctx;
    const tz = ctx.store && ctx.store.timezone;
    const hm = (iso) => new Date(iso).toLocaleTimeString(ctx.lang, { timeZone: tz, hour: '2-digit', minute: '2-digit', hour12: false });
    const dayOf = (iso) => new Date(iso).toLocaleDateString('sv-SE', { timeZone: tz });
    let week = mondayOf(new Date());
    let people = [];

    const head = h('div', { class: 'card stack' });
    const weekBox = h('div', { class: 'card stack', 'data-testid': 'roster-week', 'aria-live': 'polite' });
    const formBox = h('div', { class: 'card stack' });
    const demandBox = h('div', { class: 'card stack', 'data-testid': 'roster-demand' });
    const leaveBox = h('div', { class: 'card stack', 'data-testid': 'roster-leave' });
    const exBox = h('div', { class: 'card stack', 'data-testid': 'roster-exceptions' });

    const errMsg = (err) => {
      if (err.code === 'roster_rule_broken' && err.details && err.details.rules) {
        return t('staff_roster.refused', { rules: err.details.rules.map((r) => t(`staff_roster.rule_${r}`)).join(', ') });
      }
      return err.message;
    };
    async function act(method, path, body, okText) {
      try {
        const res = await ctx.api[method](path, body);
        ctx.feedback.success();
        if (okText) ctx.toast(okText(res), 'ok');
        await Promise.all([loadWeek(), loadLeave(), loadDemand()]);
        return res;
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(err.offline ? t('core.err_offline') : errMsg(err), 'error');
        return null;
      }
    }
    const name = (uid) => (people.find((p) => p.user_id === uid) || {}).display_name || uid;

    function renderHead(res) {
      head.replaceChildren(h('h1', { id: 'title' }, t('staff_roster.title')),
        h('div', { class: 'row' },
          h('button', { class: 'btn', type: 'button', 'aria-label': t('staff.prev_week'),
            onclick: () => { week = addDays(week, -7); loadWeek(); loadDemand(); } }, icon('back')),
          h('strong', { 'data-testid': 'roster-week-start' }, isoDay(week)),
          h('button', { class: 'btn', type: 'button', 'aria-label': t('staff.next_week'),
            onclick: () => { week = addDays(week, 7); loadWeek(); loadDemand(); } }, icon('chevron'))),
        h('p', { 'data-testid': 'roster-status' }, t(`staff_roster.status_${res.status}`, { version: res.version })),
        h('div', { class: 'row' },
          h('button', { class: 'btn', type: 'button', 'data-testid': 'roster-copy',
            onclick: () => act('post', `/staff/roster/${isoDay(week)}/copy`, {},
              (r) => t('staff_roster.copied', { copied: r.copied.length, refused: r.refused.length })) },
          t('staff_roster.copy')),
          h('button', { class: 'btn primary', type: 'button', 'data-testid': 'roster-publish',
            onclick: () => act('post', `/staff/roster/${isoDay(week)}/publish`, {}, () => t('staff_roster.published')) },
          icon('check'), t('staff_roster.publish'))));
    }

    async function loadWeek() {
      try {
        const res = await ctx.api.get(`/staff/roster/${isoDay(week)}`);
        renderHead(res);
        const broken = new Map();
        for (const v of res.violations) for (const id of v.shift_ids) {
          if (!broken.has(id)) broken.set(id, new Set());
          broken.get(id).add(v.rule);
        }
        const days = res.days.map((d) => {
          const shifts = res.shifts.filter((s) => dayOf(s.starts_at) === d.day);
          return h('div', { class: 'stack', 'data-testid': 'roster-day', 'data-day': d.day },
            h('h3', {}, d.day, ' ', d.kind !== 'workday'
              ? h('span', { class: 'badge warn' }, `${t(`staff.kind_${d.kind}`)} ×${d.multiplier}`) : null),
            shifts.length ? h('ul', { class: 'list' }, shifts.map((s) => h('li', {
              'data-testid': 'roster-shift', class: broken.has(s.id) ? 'error' : '' },
              `${hm(s.starts_at)}–${hm(s.ends_at)} ${name(s.user_id)} · ${s.role} · ${s.area}${s.skill ? ` (${s.skill})` : ''}`,
              broken.has(s.id) ? h('span', { class: 'badge error', 'data-testid': 'roster-violation' },
                [...broken.get(s.id)].map((r) => t(`staff_roster.rule_${r}`)).join(', ')) : null,
              h('button', { class: 'btn small', type: 'button', 'aria-label': t('staff_roster.remove'),
                onclick: () => act('del', `/staff/shifts/${s.id}`) }, icon('x')))))
              : h('p', { class: 'muted' }, t('staff_roster.no_shifts')));
        });
        weekBox.replaceChildren(...days);
        renderForm(res.days);
      } catch (err) {
        weekBox.replaceChildren(h('p', { class: 'empty error' }, err.message));
      }
    }

    // Built once: a supervisor adding several shifts keeps what they typed; only the week's days change.
    let daySelect = null;
    function renderForm(days) {
      if (daySelect) {
        const keep = daySelect.value;
        daySelect.replaceChildren(...days.map((d) => h('option', { value: d.day }, d.day)));
        if (days.some((d) => d.day === keep)) daySelect.value = keep;
        return;
      }
      const who = h('select', { id: 'roster-person', 'data-testid': 'roster-person' },
        people.map((p) => h('option', { value: p.user_id }, p.display_name)));
      const day = daySelect = h('select', { id: 'roster-day' }, days.map((d) => h('option', { value: d.day }, d.day)));
      const start = h('input', { type: 'time', id: 'roster-start', value: '09:00', required: true });
      const end = h('input', { type: 'time', id: 'roster-end', value: '17:00', required: true });
      const role = h('input', { type: 'text', id: 'roster-role', value: t('staff_roster.default_role'), maxlength: '40', required: true });
      const area = h('input', { type: 'text', id: 'roster-area', value: t('staff_roster.default_area'), maxlength: '40', required: true });
      const skill = h('input', { type: 'text', id: 'roster-skill', maxlength: '40', placeholder: 'till' });
      const form = h('form', { class: 'stack', 'data-testid': 'roster-form' },
        h('h2', {}, t('staff_roster.add')),
        h('label', { for: 'roster-person' }, t('staff_roster.person')), who,
        h('label', { for: 'roster-day' }, t('staff_roster.day')), day,
        h('label', { for: 'roster-start' }, t('staff_roster.start')), start,
        h('label', { for: 'roster-end' }, t('staff_roster.end')), end,
        h('label', { for: 'roster-role' }, t('staff_roster.role')), role,
        h('label', { for: 'roster-area' }, t('staff_roster.area')), area,
        h('label', { for: 'roster-skill' }, t('staff_roster.skill')), skill,
        h('button', { class: 'btn primary', type: 'submit', 'data-testid': 'roster-add' }, icon('plus'), t('staff_roster.add')));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        act('post', '/staff/shifts', { user_id: who.value, day: day.value, start: start.value, end: end.value,
          role: role.value, area: area.value, skill: skill.value.trim() || null }, () => t('staff_roster.added'));
      });
      formBox.replaceChildren(form);
    }

    // Need vs coverage for each hour that needs someone or has someone; the suggestion is only shown until accepted.
    async function loadDemand() {
      const wk = isoDay(week);
      try {
        const res = await ctx.api.get(`/staff/roster/${wk}/demand`);
        const key = (x) => `${x.weekday}-${x.hour}`;
        const have = new Map(res.coverage.map((c) => [key(c), c.value]));
        const need = res.need.filter((n) => n.value > 0 || have.get(key(n)));
        const days = [0, 1, 2, 3, 4, 5, 6].map((d) => {
          const hours = need.filter((n) => n.weekday === d);
          if (!hours.length) return null;
          return h('li', { 'data-testid': 'demand-day' }, h('strong', {}, isoDay(addDays(week, d))), ' ',
            hours.map((n) => {
              const on = have.get(key(n)) || 0;
              return h('span', { class: `badge ${on < n.value ? 'warn' : 'ok'}`, 'data-testid': 'demand-hour',
                'data-short': on < n.value ? '1' : '0' },
              t('staff_roster.demand_hour', { hour: pad(n.hour), need: n.value, have: on }));
            }));
        }).filter(Boolean);
        const sugg = res.suggested;
        demandBox.replaceChildren(h('h2', {}, t('staff_roster.demand')),
          h('p', { class: 'muted' }, t('staff_roster.demand_basis', { weeks: res.history_weeks, per_hour: res.targets.till_items_per_hour })),
          days.length ? h('ul', { class: 'list' }, days) : h('p', { class: 'muted' }, t('staff_roster.demand_none')),
          ...(sugg.length ? [
            h('h3', {}, t('staff_roster.suggested', { count: sugg.length })),
            h('ul', { class: 'list' }, sugg.map((s) => h('li', { 'data-testid': 'demand-suggested' },
              `${s.day} ${s.start}–${s.end} ${name(s.user_id)}`))),
            h('button', { class: 'btn primary', type: 'button', 'data-testid': 'demand-accept',
              onclick: () => act('post', `/staff/roster/${wk}/suggestion`, { shifts: sugg },
                (r) => t('staff_roster.suggestion_added', { added: r.added.length, refused: r.refused.length })) },
            icon('check'), t('staff_roster.accept_suggestion'))] : []),
          ...(res.uncovered.length ? [h('p', { class: 'warn', 'data-testid': 'demand-uncovered' },
            t('staff_roster.uncovered', { hours: res.uncovered.length }))] : []));
      } catch (err) {
        demandBox.replaceChildren(h('p', { class: 'empty error' }, err.message));
      }
    }

    async function loadLeave() {
      try {
        const items = (await ctx.api.get('/staff/leave', { status: 'pending' })).items;
        leaveBox.replaceChildren(h('h2', {}, t('staff_roster.leave')), items.length
          ? h('ul', { class: 'list' }, items.map((l) => h('li', { 'data-testid': 'roster-leave-row' },
            `${name(l.user_id)} · ${l.first_day} – ${l.last_day} · ${t(`staff.leave_${l.kind}`)} `,
            h('button', { class: 'btn small primary', type: 'button', 'data-testid': 'roster-leave-approve',
              onclick: () => act('post', `/staff/leave/${l.id}/decision`, { approve: true }) }, t('staff_roster.approve')),
            h('button', { class: 'btn small', type: 'button',
              onclick: () => act('post', `/staff/leave/${l.id}/decision`, { approve: false }) }, t('staff_roster.reject')))))
          : h('p', { class: 'muted' }, t('staff_roster.no_leave')));
      } catch (err) {
        leaveBox.replaceChildren(h('p', { class: 'empty error' }, err.message));
      }
    }

    async function loadExceptions() {
      const today = isoDay(new Date());
      try {
        const rep = await ctx.api.get('/staff/attendance', { from: today, to: today });
        exBox.replaceChildren(h('h2', {}, t('staff_roster.exceptions')), rep.exceptions.length
          ? h('ul', { class: 'list' }, rep.exceptions.map((e) => h('li', { class: 'warn' },
            `${name(e.user_id)} · `, t(`staff.exception_${e.kind}`, { minutes: e.minutes }))))
          : h('p', { class: 'muted' }, t('staff_roster.no_exceptions')));
      } catch (err) {
        exBox.replaceChildren(h('p', { class: 'empty error' }, err.message));
      }
    }

    try { people = (await ctx.api.get('/staff/people')).items; } catch (err) { people = []; }
    ctx.onLive('staff.roster.changed', () => loadWeek());
    ctx.root.append(head, weekBox, demandBox, formBox, leaveBox, exBox);
    await Promise.all([loadWeek(), loadDemand(), loadLeave(), loadExceptions()]);
  },
};
