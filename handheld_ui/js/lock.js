// The idle lock: after `handheld_idle_lock_s` seconds (store setting; default 300, 0 = never) without a
// touch, a key or a scan, the handheld hides the work behind the lock screen and ends the session on the
// hub. The same user unlocks with PIN or badge; "Switch user" ends the session for good.

import { clear, closeDialogs, h, icon } from './dom.js';
import { t } from './i18n.js';
import { loginCard } from './login.js';
import { leaveScreen } from './router.js';
import { endSession, suspendSession } from './session.js';
import { state } from './state.js';

const DEFAULT_IDLE_S = 300;
const root = document.documentElement;

export function lock() {
  if (!state.user || state.locked) return;
  suspendSession();
  leaveScreen();
  closeDialogs(); // modal dialogs sit in the top layer, above the lock: nothing may stay readable
  const box = clear(document.getElementById('lock'));
  box.append(h('div', { class: 'lock-inner', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'lock-title', 'data-testid': 'lock' },
    h('div', { class: 'lock-head' }, icon('lock', 'icon xl'),
      h('div', {}, h('h2', { id: 'lock-title' }, t('core.locked_title')),
        h('p', { class: 'muted' }, t('core.locked_sub', { name: state.user.display_name || state.user.username })))),
    loginCard({ lockedUser: state.user }),
    h('button', { type: 'button', class: 'btn ghost', 'data-testid': 'switch-user', onclick: () => endSession() }, icon('user'), t('core.switch_user'))));
  box.hidden = false;
  root.dataset.locked = '1';
  box.querySelector('.pin-key').focus();
}

export function hideLock() {
  clear(document.getElementById('lock')).hidden = true;
  delete root.dataset.locked;
}

export function watchIdle() {
  const touch = () => { state.lastActivity = Date.now(); };
  for (const ev of ['pointerdown', 'keydown', 'wheel', 'touchstart']) window.addEventListener(ev, touch, { capture: true, passive: true });
  setInterval(() => {
    const s = Number(state.settings.handheld_idle_lock_s ?? DEFAULT_IDLE_S);
    if (state.user && !state.locked && s > 0 && Date.now() - state.lastActivity > s * 1000) lock();
  }, 500);
}
