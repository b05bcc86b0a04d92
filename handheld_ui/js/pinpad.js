// The PIN pad used by login and the idle lock: big keys, masked display, keyboard digits work too.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

export function pinPad({ onSubmit, maxLength = 8 }) {
  let pin = '';
  const dots = h('div', { class: 'pin-dots', 'data-testid': 'pin-dots', role: 'status', 'aria-live': 'polite' });
  const paint = () => {
    dots.replaceChildren(...Array.from({ length: Math.max(4, pin.length) }, (_, i) => h('span', { class: i < pin.length ? 'dot on' : 'dot' })));
    dots.setAttribute('aria-label', t('core.pin_entered', { n: pin.length }));
  };
  const press = (d) => {
    if (pin.length < maxLength) pin += d;
    paint();
  };
  const back = () => { pin = pin.slice(0, -1); paint(); };
  const submit = () => {
    if (pin.length < 4) return;
    const value = pin;
    pin = '';
    paint();
    onSubmit(value);
  };
  const key = (d) => h('button', { type: 'button', class: 'pin-key', 'data-testid': `pin-${d}`, onclick: () => press(d) }, d);
  const grid = h('div', { class: 'pin-grid', role: 'group', 'aria-label': t('core.pin_label') },
    ...['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(key),
    h('button', { type: 'button', class: 'pin-key alt', 'data-testid': 'pin-back', 'aria-label': t('core.pin_delete'), onclick: back }, icon('backspace')),
    key('0'),
    h('button', { type: 'button', class: 'pin-key ok', 'data-testid': 'pin-ok', 'aria-label': t('core.pin_ok'), onclick: submit }, icon('check')));
  paint();
  return {
    el: h('div', { class: 'pin' }, dots, grid),
    clear() { pin = ''; paint(); },
    // digits typed on a hardware keypad (slowly: a scanner burst is taken by the scanner first)
    key(e) {
      if (/^[0-9]$/.test(e.key)) { press(e.key); return true; }
      if (e.key === 'Backspace') { back(); return true; }
      if (e.key === 'Enter') { submit(); return true; }
      return false;
    },
  };
}
