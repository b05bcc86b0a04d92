// Putting a language on show: load the shell's and every screen's catalogs, repaint the frame and the
// screen. Keeping it as the user's choice on the hub is js/session.js (changeLanguage).

import { normaliseLang, setLanguage } from './i18n.js';
import { route } from './router.js';
import { screenIds } from './screens.js';
import { signedIn } from './state.js';
import { paintChrome } from './status.js';

/** render: false only loads the catalogs (boot, before anything is drawn). */
export async function applyLanguage(l, { render = true } = {}) {
  l = normaliseLang(l);
  await setLanguage(l, screenIds());
  if (!render) return l;
  localStorage.setItem('storehub.lang', l);
  paintChrome();
  if (signedIn()) route();
  return l;
}
