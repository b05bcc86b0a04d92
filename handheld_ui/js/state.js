// What the shell's modules share: who is logged in, the store settings, whether the hub answers, how many
// actions wait, whether the handheld is locked, and the screen on show. One record, read and written by
// session.js, lock.js, status.js, router.js and scanroute.js; screens see it only through their ctx.

export const ROLES = ['associate', 'supervisor', 'manager', 'admin'];

export const state = {
  user: null,
  settings: {},
  online: navigator.onLine,
  pending: 0,
  failed: 0,
  locked: false,
  current: null, // the mounted screen: {def, ctx, params, abort, unsubs}
  lastActivity: Date.now(),
};

/** Someone is logged in and the handheld is not locked: screens may run. */
export function signedIn() {
  return !!state.user && !state.locked;
}

export function hasRole(role, have = state.user && state.user.role) {
  return !!have && ROLES.indexOf(have) >= ROLES.indexOf(role || 'associate');
}

export function storeOf(s = state.settings) {
  return { id: s.store_id, name: s.store_name, currency: s.currency, currency_exponent: s.currency_exponent };
}
