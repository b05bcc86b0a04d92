// Me: language, sound, device, lock, log out.

import { deviceId } from '../js/api.js';
import { h, icon } from '../js/dom.js';
import { LANGUAGES } from '../js/i18n.js';

export default {
  id: 'profile',
  titleKey: 'profile.title',
  minRole: 'associate',
  icon: 'user',
  order: 90,
  render(ctx) {
    const { t } = ctx;
    const u = ctx.user;
    const langs = h('div', { class: 'chips', role: 'group', 'aria-labelledby': 'profile-lang' },
      LANGUAGES.map((l) => h('button', {
        type: 'button', class: 'chip', lang: l, 'aria-pressed': String(l === ctx.lang), 'data-testid': `lang-${l}`,
        onclick: async () => {
          try {
            await ctx.setLanguage(l);
            ctx.feedback.success();
          } catch (err) {
            ctx.feedback.error();
            ctx.toast(err.offline ? t('core.err_offline') : err.message, 'error');
          }
        },
      }, t(`core.lang_${l}`))));
    const muted = localStorage.getItem('storehub.mute') === '1';
    const sound = h('button', {
      type: 'button', class: 'chip', 'aria-pressed': String(!muted), 'data-testid': 'sound-toggle',
      onclick: (e) => {
        const on = e.currentTarget.getAttribute('aria-pressed') !== 'true';
        localStorage.setItem('storehub.mute', on ? '0' : '1');
        e.currentTarget.setAttribute('aria-pressed', String(on));
        e.currentTarget.textContent = t(on ? 'profile.sound_on' : 'profile.sound_off');
        if (on) ctx.feedback.success();
      },
    }, t(muted ? 'profile.sound_off' : 'profile.sound_on'));
    const test = h('div', { class: 'row gap' },
      h('button', { class: 'btn', type: 'button', onclick: () => ctx.feedback.success() }, t('profile.test_ok')),
      h('button', { class: 'btn', type: 'button', onclick: () => ctx.feedback.error() }, t('profile.test_error')));
    ctx.root.append(
      h('div', { class: 'card' },
        h('dl', { class: 'kv' },
          h('dt', {}, t('profile.name')), h('dd', { 'data-testid': 'profile-name' }, u.display_name || u.username),
          h('dt', {}, t('profile.role')), h('dd', {}, t(`core.role_${u.role}`)),
          h('dt', {}, t('profile.store')), h('dd', {}, ctx.store.name || ''),
          h('dt', {}, t('profile.device')), h('dd', { class: 'num' }, deviceId()))),
      h('div', { class: 'card stack' }, h('h3', { id: 'profile-lang' }, t('core.language')), langs),
      h('div', { class: 'card stack' }, h('h3', {}, t('profile.sound')), sound, test),
      h('button', { class: 'btn big', type: 'button', 'data-testid': 'lock-now', onclick: () => ctx.lock() }, icon('lock'), t('profile.lock')),
      h('button', { class: 'btn danger big', type: 'button', 'data-testid': 'logout', onclick: () => ctx.logout() }, icon('logout'), t('profile.logout')));
  },
};
