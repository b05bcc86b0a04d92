// The login screen and the login card it shares with the lock screen: user name, the last users of this
// handheld as chips, the PIN pad (also driven by a hardware keypad), and the language toggle.

import { clear, h, icon } from './dom.js';
import { feedback } from './feedback.js';
import { LANGUAGES, lang, t } from './i18n.js';
import { applyLanguage } from './language.js';
import { pinPad } from './pinpad.js';
import { leaveScreen } from './router.js';
import { changeLanguage, login, recentUsers } from './session.js';
import { state } from './state.js';
import { toast } from './toast.js';

const root = document.documentElement;
let pad = null; // the PIN pad on show (login or lock screen)
let keyHandler = null;

/** A key typed while nobody is signed in; true when the PIN pad took it. */
export function pinKey(e) {
  return !!keyHandler && keyHandler(e);
}

/** A badge scan replaces whatever PIN was being typed. */
export function clearPin() {
  if (pad) pad.clear();
}

/** The user field + PIN pad card; lockedUser fixes the user (unlock). */
export function loginCard({ lockedUser } = {}) {
  const recent = recentUsers();
  const userInput = h('input', {
    id: lockedUser ? 'lock-user' : 'login-user', class: 'field', type: 'text', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', 'data-testid': lockedUser ? 'lock-user' : 'login-user',
    value: lockedUser ? lockedUser.username : (recent[0] && recent[0].username) || '',
    readonly: !!lockedUser,
  });
  pad = pinPad({
    onSubmit: async (pin) => {
      const user = userInput.value.trim();
      if (!user) { toast(t('core.login_need_user'), 'warn'); feedback.warn(); userInput.focus(); return; }
      await login({ user, pin });
    },
  });
  const cardPad = pad;
  keyHandler = (e) => {
    if (document.activeElement === userInput) return false;
    return cardPad.key(e);
  };
  const chips = !lockedUser && recent.length > 1 ? h('div', { class: 'chips', role: 'group', 'aria-label': t('core.recent_users') },
    recent.map((u) => h('button', {
      type: 'button', class: 'chip', 'aria-pressed': String(userInput.value === u.username),
      onclick: (e) => {
        userInput.value = u.username;
        for (const c of e.currentTarget.parentNode.children) c.setAttribute('aria-pressed', String(c === e.currentTarget));
        cardPad.clear();
      },
    }, u.display_name || u.username))) : null;
  return h('div', { class: 'login-card' },
    h('label', { class: 'label', for: userInput.id }, t('core.user')),
    userInput,
    chips,
    h('div', { class: 'label', id: 'pin-label' }, t('core.pin')),
    cardPad.el,
    h('p', { class: 'badge-hint' }, icon('barcode'), h('span', {}, t('core.scan_badge'))));
}

function languageToggle() {
  return h('div', { class: 'lang-toggle', role: 'group', 'aria-label': t('core.language') },
    LANGUAGES.map((l) => h('button', {
      type: 'button', class: 'chip', lang: l, 'aria-pressed': String(l === lang()), 'data-testid': `lang-${l}`,
      onclick: async () => {
        if (state.user) await changeLanguage(l);
        else await applyLanguage(l);
        if (!state.user) showLogin();
      },
    }, t(`core.lang_${l}`))));
}

export function showLogin() {
  leaveScreen();
  const main = document.getElementById('main');
  clear(main);
  document.getElementById('title').textContent = t('core.app_name');
  document.getElementById('nav-back').hidden = true;
  main.append(h('section', { class: 'screen login', 'data-screen': 'login', 'aria-labelledby': 'login-title' },
    h('div', { class: 'brand' }, h('img', { src: 'icons/icon.svg', alt: '', width: 56, height: 56 }),
      h('div', {}, h('h2', { id: 'login-title' }, t('core.login_title')), h('p', { class: 'muted' }, t('core.login_sub')))),
    loginCard(),
    languageToggle()));
  root.dataset.current = 'login';
}
