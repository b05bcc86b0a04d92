// Members: find a member at the counter (phone typed, member card or dynamic code scanned into the field) and
// enrol a new one with their consent. Shows only what the till may show: masked phone, card, tier, points.

import { h, icon } from '../js/dom.js';

function tierName(ctx, code) {
  const key = `members.tier_${code}`;
  const text = ctx.t(key);
  return text === key ? code : text;
}

function memberCard(ctx, m) {
  const { t, fmt } = ctx;
  const pts = m.points || {};
  return h('div', { class: 'card stack', 'data-testid': 'members-card' },
    h('h2', {}, icon('user'), ' ', h('span', { 'data-testid': 'members-phone' }, m.phone_masked)),
    h('p', {}, t('members.card_no'), ': ', h('strong', { 'data-testid': 'members-card-no' }, m.card_no)),
    h('p', {}, t('members.tier'), ': ', h('strong', { 'data-testid': 'members-tier' }, tierName(ctx, m.tier))),
    h('p', {}, t('members.points'), ': ',
      h('strong', { 'data-testid': 'members-points', class: pts.balance < 0 ? 'error' : '' }, fmt.number(pts.balance ?? 0))),
    pts.unsynced ? h('p', { class: 'muted', 'data-testid': 'members-unsynced' },
      t('members.unsynced', { n: fmt.number(pts.unsynced) })) : null,
    m.birthday_month ? h('p', { class: 'muted' }, t('members.birthday_month', { month: m.birthday_month })) : null);
}

const MEMBER_CODE = /^sh[md]-/i;
let activeScan = null;

export default {
  id: 'members',
  accepts: ['*'],   // member cards and dynamic codes are identified here; every other scan goes its usual way
  titleKey: 'members.title',
  minRole: 'associate',
  icon: 'user',
  order: 104,   // after the built-in tiles; unique per domain (its migration block)
  async render(ctx) {
    const { t } = ctx;
    const out = h('div', { 'data-testid': 'members-result', 'aria-live': 'polite' });

    const q = h('input', { id: 'members-q', class: 'field', type: 'text', autocomplete: 'off', spellcheck: 'false',
      enterkeyhint: 'search', 'data-testid': 'members-q', placeholder: t('members.find_placeholder') });
    const find = h('form', { class: 'card stack', 'data-testid': 'members-find' },
      h('label', { for: 'members-q' }, t('members.find')), q,
      h('button', { class: 'btn primary big', type: 'submit', 'data-testid': 'members-find-go' }, icon('search'),
        t('members.identify')));
    async function identify(text) {
      const body = MEMBER_CODE.test(text) ? { code: text } : { phone: text };
      try {
        const m = await ctx.api.post('/members/identify', body);
        ctx.feedback.success();
        out.replaceChildren(memberCard(ctx, m));
        q.value = '';
      } catch (err) {
        ctx.feedback.error();
        out.replaceChildren(h('p', { class: 'empty error', 'data-testid': 'members-error' },
          err.offline ? t('core.err_offline') : err.message));
      }
    }
    find.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = q.value.trim();
      if (text) identify(text);
    });
    activeScan = (code) => identify(code.trim());

    const phone = h('input', { id: 'members-phone', class: 'field', type: 'tel', autocomplete: 'off',
      'data-testid': 'members-enrol-phone' });
    const name = h('input', { id: 'members-name', class: 'field', type: 'text', autocomplete: 'off',
      maxlength: '80', 'data-testid': 'members-enrol-name' });
    const bday = h('input', { id: 'members-bday', class: 'field', type: 'date', 'data-testid': 'members-enrol-birthday' });
    const consent = h('input', { id: 'members-consent', type: 'checkbox', 'data-testid': 'members-enrol-consent' });
    const enrol = h('form', { class: 'card stack', 'data-testid': 'members-enrol' },
      h('h2', {}, t('members.enrol')),
      h('label', { for: 'members-phone' }, t('members.phone')), phone,
      h('label', { for: 'members-name' }, t('members.name_optional')), name,
      h('label', { for: 'members-bday' }, t('members.birthday_optional')), bday,
      h('label', { class: 'check' }, consent, ' ', t('members.consent')),
      h('button', { class: 'btn big', type: 'submit', 'data-testid': 'members-enrol-go' }, icon('check'),
        t('members.enrol_go')));
    enrol.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!consent.checked) {
        ctx.feedback.error();
        ctx.toast(t('members.consent_needed'), 'error');
        return;
      }
      try {
        const m = await ctx.api.post('/members', { phone: phone.value, name: name.value || null,
          birthday: bday.value || null, consent: { purpose: 'loyalty', granted: true } });
        ctx.feedback.success();
        out.replaceChildren(h('p', { class: 'ok', 'data-testid': 'members-enrolled' },
          t(m.created ? 'members.enrolled_new' : 'members.enrolled_found')), memberCard(ctx, m));
        phone.value = ''; name.value = ''; bday.value = ''; consent.checked = false;
      } catch (err) {
        ctx.feedback.error();
        out.replaceChildren(h('p', { class: 'empty error', 'data-testid': 'members-error' },
          err.offline ? t('core.err_offline') : err.message));
      }
    });
    ctx.root.append(find, out, enrol);
    q.focus();
  },
  onScan(code) {
    if (!activeScan || !MEMBER_CODE.test(code.trim())) return false;
    activeScan(code);
    return true;
  },
  onLeave() { activeScan = null; },
};
