// The till (1280×800 counter touch screen): scan-first selling, split tenders, returns by receipt code.
// The hub holds the cart (GET /checkout/tills/<till>); this screen only shows it and sends what the cashier does.
//
// WeChat Pay / Alipay payment codes (付款码): with that tender chosen, the next scan is the customer's code and
// goes to POST /checkout/carts/<id>/payment-code (never to the cart); while the customer confirms on the phone
// (waiting) the till polls the tender, and "cancel" has the provider reverse it. The code is kept in memory only
// until the hub has answered. The customer display on the till's second screen (/display/<till>, same browser)
// follows the prompt over a BroadcastChannel and, with every other payment state, from the hub's cart (the
// till posts the prompt to /checkout/carts/<id>/prompt; the display reads it over the live channel).
//
// A card on the integrated terminal goes to POST /checkout/carts/<id>/card-terminal (the till polls a tender whose
// result was lost: the hub asks the terminal for its last transaction); points go to POST .../points.
//
// A till that loses the hub keeps the open cart on screen with an offline banner; scans made meanwhile are kept
// in localStorage (each with its idempotency key, sent with the scan) and replayed in order when the hub answers,
// so a scan whose answer was lost is applied once. Nothing is paid while the hub is away (the tenders say so), and
// the replay goes to the cart the till already had: a sale never begins in two places.

import { h } from '../js/dom.js';
import { errorMessage } from '../js/errors.js';
import { errorText } from '../js/toast.js';

const TILL_KEY = 'storehub.till';
let activeScan = null; // the till's scan handler while the screen shows
const RECEIPT = /^SHR-[A-Za-z0-9_-]+-\d{8}-\d{4,6}$/;
const HELD = /^SHC-\d+$/i;
// the providers' documented code shapes (hub/checkout/payments/codes.py): a customer's code never goes to the cart
const PAY_CODE = /^(?:1[0-5]\d{16}|(?:2[5-9]|30)\d{14,22})$/;
const QR_METHODS = ['wechatpay', 'alipay'];
const PENDING = ['requesting', 'unknown'];
const POLL_MS = 2000;
const DISPLAY_CHANNEL = 'storehub.display';
const REPLAY_MS = 1500;
const queueKey = (till) => `storehub.checkout.offline.${till}`;
let display = null; // the BroadcastChannel to the customer display

function displayChannel() {
  if (!display && typeof BroadcastChannel === 'function') display = new BroadcastChannel(DISPLAY_CHANNEL);
  return display;
}

export function lineName(ln, lang) {
  return (lang === 'zh-CN' ? ln.name_zh || ln.name_en : ln.name_en || ln.name_zh) || ln.sku;
}

export default {
  id: 'checkout',
  titleKey: 'checkout.title',
  minRole: 'associate',
  icon: 'tag',
  order: 5,
  accepts: ['*'], // every code goes to the hub's checkout scan (items, PLUs, receipts, held carts, badges)
  render(ctx) {
    const { t, fmt } = ctx;
    const s = { till: localStorage.getItem(TILL_KEY) || '', state: null, cart: null, selected: null, mode: 'sell',
                pending: null, sale: null, ret: null, qr: null, offline: false, queued: [], card: null };
    const root = h('div', { class: 'till', 'data-testid': 'checkout-till-screen',
                            style: 'display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:12px;align-items:start;'
                              + 'width:min(1240px,96vw);position:relative;left:50%;transform:translateX(-50%)' });
    const left = h('div', { class: 'stack' });
    const right = h('div', { class: 'stack' });
    root.append(left, right);
    ctx.root.append(root);

    const say = (err) => { ctx.feedback.error(); ctx.toast(errorText(err), 'error'); };
    const big = (text, attrs = {}) => h('button', { class: 'btn big', type: 'button', ...attrs }, text);
    const field = (id, attrs = {}) => h('input', { id, class: 'field', 'data-testid': id, autocomplete: 'off', ...attrs });
    const key = () => ctx.newKey();

    async function call(fn) {
      try { return await fn(); } catch (err) {
        if (err.code === 'approval_required' || err.code === 'approval_refused') {
          s.pending = fn; draw(); ctx.toast(t('checkout.need_badge'), 'warn'); ctx.feedback.warn(); return null;
        }
        if (err.offline) goOffline();
        say(err); return null;
      }
    }

    async function load() {
      if (!s.till) { draw(); return; }
      try {
        s.state = await ctx.api.get(`/checkout/tills/${encodeURIComponent(s.till)}`);
        s.cart = s.state.cart;
      } catch (err) {
        if (err.offline && s.state) { goOffline(); draw(); return; }   // keep the cart on screen
        s.state = null; s.cart = null;
        if (err.offline) goOffline();
        else if (err.code !== 'till_not_found') say(err);
      }
      qrFollowCart();
      cardFollowCart();
      draw();
    }

    // --- the hub away: queue the scans, replay them in order ----------------------------------------------------
    s.queued = (() => { try { return JSON.parse(localStorage.getItem(queueKey(s.till)) || '[]'); } catch { return []; } })();
    const saveQueue = () => {
      if (s.queued.length) localStorage.setItem(queueKey(s.till), JSON.stringify(s.queued));
      else localStorage.removeItem(queueKey(s.till));
    };
    let replayTimer = null;
    let replaying = false;

    function goOffline() {
      if (!s.offline) { s.offline = true; ctx.feedback.warn(); }
      if (!replayTimer && !replaying) replayTimer = setTimeout(replay, REPLAY_MS);
    }

    function enqueue(item) {
      if (!s.queued.some((x) => x.key === item.key)) s.queued.push(item);
      saveQueue();
      goOffline();
      draw();
    }

    async function sendScan(item) {
      try {
        if (!item.cart_id) item.cart_id = (await ensureCart()).id;
        const body = { code: item.code, idempotency_key: item.key };
        if (item.qty > 1) body.qty = item.qty;
        const out = await ctx.api.post(`/checkout/carts/${item.cart_id}/scan`, body);
        setCart(out);
        return out;
      } catch (err) {
        if (err.offline) { enqueue(item); return null; }
        if (err.code === 'approval_required' || err.code === 'approval_refused') return null;
        say(err);
        return null;
      }
    }

    // send the queued scans in order with their keys; stop at the first that cannot reach the hub
    async function replay() {
      replayTimer = null;
      if (replaying || ctx.signal.aborted) return;
      replaying = true;
      try {
        while (s.queued.length) {
          const item = s.queued[0];
          try {
            if (!item.cart_id) {   // the first scan of a sale made offline: the till's open cart (one per till)
              const c = await ctx.api.post(`/checkout/tills/${encodeURIComponent(s.till)}/carts`, {});
              for (const x of s.queued) if (!x.cart_id) x.cart_id = c.id;
              saveQueue();
            }
            const body = { code: item.code, idempotency_key: item.key };
            if (item.qty > 1) body.qty = item.qty;
            s.cart = await ctx.api.post(`/checkout/carts/${item.cart_id}/scan`, body);
          } catch (err) {
            if (err.offline) { replaying = false; goOffline(); draw(); return; }
            say(err);   // refused by the hub (unknown code, cart closed …): the cashier sees why, the rest goes on
          }
          s.queued.shift();
          saveQueue();
          draw();
        }
        s.state = await ctx.api.get(`/checkout/tills/${encodeURIComponent(s.till)}`);
        s.cart = s.state.cart;
      } catch (err) {
        if (err.offline) { replaying = false; goOffline(); draw(); return; }
        say(err);
      } finally {
        replaying = false;
      }
      if (s.offline) { s.offline = false; ctx.toast(t('checkout.back_online'), 'success'); ctx.feedback.success(); }
      qrFollowCart();
      draw();
    }

    async function ensureCart() {
      if (s.cart && s.cart.status === 'open') return s.cart;
      s.cart = await ctx.api.post(`/checkout/tills/${encodeURIComponent(s.till)}/carts`, {});
      s.sale = null;
      return s.cart;
    }

    const setCart = (c) => { if (c) { s.cart = c; s.sale = null; ctx.feedback.success(); } draw(); };

    // --- WeChat Pay / Alipay payment codes ----------------------------------------------------------------------
    // s.qr = {phase: 'scan' | 'sending' | 'waiting' | 'cancelling', tender, amountText, key, code, error, note}

    const isQr = (x) => QR_METHODS.includes(x.method);
    const pendingQr = (c) => (c && c.status === 'open' ? c.tenders.find((x) => isQr(x) && PENDING.includes(x.state)) : null);
    const qrAmount = () => {
      const q = s.qr;
      if (!q || !s.cart) return 0;
      if (q.tender) return q.tender.amount_minor;
      const typed = Math.round(Number(q.amountText || 0) * 100);
      return typed > 0 ? typed : s.cart.due_minor;
    };

    function tellDisplay() {
      const ch = displayChannel();
      if (!ch || !s.till) return;
      const q = s.qr;
      ch.postMessage({ till: s.till, qr: q ? { phase: q.phase === 'scan' ? 'show' : 'confirm', amount_minor: qrAmount(),
                                               method: q.tender ? q.tender.method : null, refused: !!q.error } : null });
    }

    // the hub's cart decides: a code tender still pending there (reload, restart, another device) is waited on
    function qrFollowCart() {
      const pend = pendingQr(s.cart);
      if (pend) {
        if (!s.qr || !s.qr.tender || s.qr.tender.id !== pend.id) {
          if (s.qr) clearTimeout(s.qr.timer);
          s.qr = { phase: 'waiting', tender: pend, amountText: '', error: null, note: null };
          qrSchedulePoll(s.qr, 0);
        }
      } else if (s.qr && s.qr.phase !== 'scan') {
        s.qr = null;
      }
      if (s.qr && (!s.cart || s.cart.status !== 'open')) s.qr = null;
      tellDisplay();
    }

    // the prompt kept on the hub: the customer display follows it with the cart (a display on another machine too)
    function promptDisplay(kind, amount) {
      if (!s.cart || s.cart.status !== 'open') return;
      const body = { kind };
      if (kind !== 'none' && amount) body.amount_minor = amount;
      ctx.api.post(`/checkout/carts/${s.cart.id}/prompt`, body).catch(() => {});
    }

    function qrChoose() {
      s.qr = { phase: 'scan', tender: null, amountText: '', error: null, note: null };
      draw(); tellDisplay();
      promptDisplay('payment_code', qrAmount());
      ctx.feedback.success();
    }

    // the provider's refusal in the user's language (err.pay.<provider code> in i18n/errors.*.json)
    function qrRefusal(tnd) {
      if (tnd.state === 'reversed') return t('checkout.qr_timed_out');
      return errorMessage(`pay.${tnd.error}`, null) || t('checkout.qr_refused', { reason: tnd.error || t('checkout.s_failed') });
    }

    async function qrScan(code) {
      const q = s.qr;
      if (q.phase !== 'scan') { ctx.feedback.warn(); ctx.toast(t('checkout.qr_busy'), 'warn'); return; }
      if (!s.cart || !s.cart.lines.length) { ctx.feedback.warn(); ctx.toast(t('checkout.scan_to_start'), 'warn'); return; }
      const amount = q.amountText ? Math.round(Number(q.amountText) * 100) : null;
      Object.assign(q, { phase: 'sending', code, key: ctx.newKey(), amount, error: null, note: null });
      draw(); tellDisplay();
      await qrSend(q);
    }

    async function qrSend(q) {
      const body = { auth_code: q.code, idempotency_key: q.key };
      if (q.amount) body.amount_minor = q.amount;
      let out;
      try {
        out = await ctx.api.post(`/checkout/carts/${s.cart.id}/payment-code`, body);
      } catch (err) {
        if (s.qr !== q || ctx.signal.aborted) return;
        if (err.offline) {
          // the answer was lost (or took too long): the same key only asks the provider, it never pays twice
          q.note = t('checkout.qr_asking_again');
          draw();
          setTimeout(() => { if (s.qr === q && !ctx.signal.aborted) qrSend(q); }, POLL_MS);
          return;
        }
        Object.assign(q, { phase: 'scan', code: null, key: null, error: errorText(err), note: null });
        ctx.feedback.error(); draw(); tellDisplay();
        return;
      }
      if (s.qr !== q) return;
      q.code = null; // the hub has it: the customer's code is not kept on the till
      qrSettle(q, out);
    }

    function qrSettle(q, out) {
      const tnd = out.tender;
      s.cart = out.cart;
      if (out.waiting && tnd) {
        Object.assign(q, { phase: 'waiting', tender: tnd, note: null });
        draw(); tellDisplay();
        qrSchedulePoll(q, POLL_MS);
        return;
      }
      if (tnd && tnd.state === 'paid') {
        s.qr = null;
        tellDisplay();
        ctx.toast(t('checkout.qr_paid', { method: t(`checkout.m_${tnd.method}`), amount: fmt.money(tnd.amount_minor) }), 'success');
        done(out);
        return;
      }
      // refused, failed, or given up and reversed: the cashier scans again or takes another tender
      Object.assign(q, { phase: 'scan', tender: null, key: null, error: tnd ? qrRefusal(tnd) : t('checkout.qr_reversed'), note: null });
      ctx.feedback.error(); draw(); tellDisplay();
      promptDisplay('payment_code', qrAmount());
    }

    function qrSchedulePoll(q, ms) {
      clearTimeout(q.timer);
      q.timer = setTimeout(() => qrPoll(q), ms);
    }

    async function qrPoll(q) {
      if (s.qr !== q || q.phase !== 'waiting' || ctx.signal.aborted) return;
      let out;
      try {
        out = await ctx.api.post(`/checkout/tenders/${q.tender.id}/poll`);
      } catch (err) {
        if (s.qr !== q || q.phase !== 'waiting') return;
        q.note = errorText(err); draw();
        qrSchedulePoll(q, POLL_MS * 2);
        return;
      }
      if (s.qr !== q || q.phase !== 'waiting') return; // cancelled meanwhile
      qrSettle(q, out);
    }

    async function qrCancel() {
      const q = s.qr;
      if (!q || !q.tender || q.phase !== 'waiting') return;
      clearTimeout(q.timer);
      q.phase = 'cancelling'; draw();
      const out = await call(() => ctx.api.post(`/checkout/tenders/${q.tender.id}/cancel`, { reason: t('checkout.qr_cancel_reason') }));
      if (s.qr !== q) return;
      if (!out) { await load(); return; }   // e.g. paid and committed meanwhile: the hub's cart says what happened
      s.qr = null; s.cart = out.cart;
      ctx.toast(t('checkout.qr_reversed'), 'info');
      draw(); tellDisplay();
    }

    function drawQr(c) {
      const q = s.qr;
      const amount = fmt.money(qrAmount());
      const panel = h('div', { class: 'card stack', 'data-testid': 'checkout-qr', 'data-phase': q.phase,
                               style: 'border:2px solid var(--primary)' },
        h('strong', { style: 'font-size:1.2em' }, t('checkout.qr_title')));
      const add = (...nodes) => panel.append(...nodes.filter(Boolean));  // Element.append would print "null"
      if (q.phase === 'scan') {
        const amt = field('qr-amount', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal',
                                         placeholder: fmt.money(c.due_minor), value: q.amountText });
        amt.addEventListener('input', () => { q.amountText = amt.value; tellDisplay(); });
        const typed = field('qr-code', { inputmode: 'numeric', placeholder: t('checkout.qr_type_code'), maxlength: '24' });
        typed.addEventListener('keydown', (e) => {
          if (e.key !== 'Enter' || !typed.value.trim()) return;
          const code = typed.value.trim(); typed.value = '';
          qrScan(code);
        });
        const back = big(t('checkout.qr_other'), { 'data-testid': 'checkout-qr-back' });
        back.addEventListener('click', () => { s.qr = null; draw(); tellDisplay(); promptDisplay('none'); });
        add(
          h('p', { 'data-testid': 'checkout-qr-prompt', style: 'font-size:1.3em;margin:0' }, t('checkout.qr_scan', { amount })),
          q.error ? h('p', { 'data-testid': 'checkout-qr-error', role: 'alert', style: 'color:var(--bad);font-weight:600;margin:0' }, q.error) : null,
          h('label', { for: 'qr-amount' }, t('checkout.qr_amount')), amt, typed, back);
      } else {
        const cancel = big(t('checkout.qr_cancel'), { 'data-testid': 'checkout-qr-cancel', class: 'btn big danger',
                                                     disabled: q.phase !== 'waiting' });
        cancel.addEventListener('click', qrCancel);
        const text = q.phase === 'sending' ? t('checkout.qr_sending', { amount })
          : q.phase === 'cancelling' ? t('checkout.qr_cancelling') : t('checkout.qr_waiting', { amount });
        add(
          h('p', { 'data-testid': q.phase === 'waiting' ? 'checkout-qr-waiting' : 'checkout-qr-busy', 'aria-live': 'polite',
                   style: 'font-size:1.3em;margin:0' }, text),
          q.tender ? h('span', { class: 'muted' }, `${t(`checkout.m_${q.tender.method}`)} · ${q.tender.out_trade_no}`) : null,
          q.note ? h('p', { class: 'muted', 'data-testid': 'checkout-qr-note', style: 'margin:0' }, q.note) : null,
          cancel);
      }
      return panel;
    }

    async function scanCode(code, qty) {
      if (RECEIPT.test(code)) return startReturn(code);
      if (HELD.test(code)) return setCart(await call(() => ctx.api.post(`/checkout/tills/${s.till}/resume`, { code })));
      const item = { key: ctx.newKey(), code, qty, cart_id: s.cart && s.cart.status === 'open' ? s.cart.id : null };
      if (s.offline || s.queued.length) { enqueue(item); return null; }   // after the ones still waiting, in order
      return sendScan(item);
    }

    // --- a card on the integrated terminal ------------------------------------------------------------------------
    // s.card = {phase: 'sending' | 'waiting', tender, key, amount}
    const pendingCard = (c) => (c && c.status === 'open'
      ? c.tenders.find((x) => x.method === 'card_terminal' && PENDING.includes(x.state)) : null);

    function cardFollowCart() {
      const pend = pendingCard(s.cart);
      if (pend && (!s.card || !s.card.tender || s.card.tender.id !== pend.id)) {
        s.card = { phase: 'waiting', tender: pend, key: null };
        setTimeout(() => cardPoll(s.card), POLL_MS);
      } else if (!pend && s.card && s.card.phase === 'waiting') {
        s.card = null;
      }
    }

    async function cardPay(amount) {
      const c = s.cart;
      const q = { phase: 'sending', tender: null, key: ctx.newKey(), amount };
      s.card = q; draw();
      const body = { idempotency_key: q.key };
      if (amount) body.amount_minor = amount;
      let out;
      try {
        out = await ctx.api.post(`/checkout/carts/${c.id}/card-terminal`, body);
      } catch (err) {
        if (s.card === q) s.card = null;
        if (err.offline) goOffline();
        say(err); draw();
        return;
      }
      cardSettle(q, out);
    }

    function cardSettle(q, out) {
      if (s.card !== q) return;
      s.cart = out.cart;
      const tnd = out.tender;
      if (out.waiting && tnd) {
        Object.assign(q, { phase: 'waiting', tender: tnd });
        draw();
        setTimeout(() => cardPoll(q), POLL_MS);
        return;
      }
      s.card = null;
      if (tnd && tnd.state === 'paid') {
        ctx.toast(t('checkout.card_paid', { amount: fmt.money(tnd.amount_minor), last4: tnd.card_last4 || '' }), 'success');
        done(out);
        return;
      }
      ctx.feedback.error();
      ctx.toast(tnd && tnd.error ? errorMessage(tnd.error, null) || tnd.error : t('checkout.s_failed'), 'error');
      draw();
    }

    async function cardPoll(q) {
      if (s.card !== q || q.phase !== 'waiting' || ctx.signal.aborted) return;
      try {
        cardSettle(q, await ctx.api.post(`/checkout/tenders/${q.tender.id}/poll`));
      } catch (err) {
        if (s.card !== q) return;
        q.note = errorText(err); draw();
        setTimeout(() => cardPoll(q), POLL_MS * 2);
      }
    }

    async function startReturn(code) {
      const sale = await call(() => ctx.api.get(`/checkout/sales/${encodeURIComponent(code)}`));
      if (!sale) return;
      s.mode = 'return';
      s.ret = { sale, picks: {} };
      draw();
    }

    function drawSetup() {
      const till = field('checkout-till', { value: s.till, placeholder: 'T1', maxlength: '32' });
      const float = field('checkout-float', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal' });
      const printer = field('checkout-printer', { placeholder: 'printer-1' });
      const scale = field('checkout-scale', { placeholder: 'scale-1' });
      const open = big(t('checkout.open_shift'), { 'data-testid': 'checkout-open-shift', class: 'btn big primary' });
      open.addEventListener('click', async () => {
        s.till = till.value.trim();
        localStorage.setItem(TILL_KEY, s.till);
        const body = { float_minor: Math.round(Number(float.value || 0) * 100) };
        if (printer.value.trim()) body.printer_device = printer.value.trim();
        if (scale.value.trim()) body.scale_device = scale.value.trim();
        if (await call(() => ctx.api.post(`/checkout/tills/${encodeURIComponent(s.till)}/shifts`, body))) await load();
      });
      left.append(h('div', { class: 'card stack', 'data-testid': 'checkout-setup' },
        h('h2', {}, t('checkout.setup')),
        h('label', { for: 'checkout-till' }, t('checkout.till')), till,
        h('label', { for: 'checkout-float' }, t('checkout.float')), float,
        h('label', { for: 'checkout-printer' }, t('checkout.printer')), printer,
        h('label', { for: 'checkout-scale' }, t('checkout.scale')), scale, open));
    }

    function drawLine(ln) {
      const sel = s.selected === ln.id;
      const qty = ln.weighed ? fmt.qty(ln.qty, 'kg') : `${ln.qty} ×`;
      const row = h('li', { 'data-testid': 'checkout-line', class: sel ? 'selected' : '', tabindex: '0',
                            style: `padding:10px;border-bottom:1px solid #ddd;${sel ? 'background:#e8efff' : ''}` },
        h('div', { class: 'row', style: 'justify-content:space-between;font-size:1.15em' },
          h('span', {}, `${qty} ${lineName(ln, ctx.lang)}`),
          h('strong', { 'data-testid': 'line-net' }, fmt.money(ln.net_minor))),
        ...ln.discounts.map((d) => h('div', { class: 'muted', 'data-testid': 'line-promo' },
          `− ${d.name[ctx.lang] || d.name.en} ${fmt.money(d.discount_minor)}`)),
        ln.manual_discount_minor ? h('div', { class: 'muted' },
          `− ${ln.discount_reason} ${fmt.money(ln.manual_discount_minor)}`) : null);
      row.addEventListener('click', () => { s.selected = sel ? null : ln.id; draw(); });
      return row;
    }

    function lineActions(c) {
      const ln = c.lines.find((x) => x.id === s.selected);
      if (!ln) return null;
      const amount = field('line-amount', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal' });
      const reason = field('line-reason', { placeholder: t('checkout.reason') });
      const act = (label, id, fn, cls = 'btn') => {
        const b = h('button', { class: cls, type: 'button', 'data-testid': id }, label);
        b.addEventListener('click', async () => setCart(await call(fn)));
        return b;
      };
      const minor = () => Math.round(Number(amount.value || 0) * 100);
      return h('div', { class: 'card stack', 'data-testid': 'line-actions' },
        h('strong', {}, lineName(ln, ctx.lang)),
        h('div', { class: 'row gap' }, amount, reason),
        h('div', { class: 'row gap' },
          ln.weighed ? null : act(t('checkout.set_qty'), 'line-qty',
            () => ctx.api.patch(`/checkout/carts/${c.id}/lines/${ln.id}`, { qty: Math.max(1, Math.round(Number(amount.value || 1))) })),
          act(t('checkout.discount'), 'line-discount',
            () => ctx.api.post(`/checkout/carts/${c.id}/lines/${ln.id}/discount`, { amount_minor: minor(), reason: reason.value, ...s.badge })),
          act(t('checkout.price'), 'line-price',
            () => ctx.api.post(`/checkout/carts/${c.id}/lines/${ln.id}/price`, { price_minor: minor(), reason: reason.value, ...s.badge })),
          act(t('checkout.void_line'), 'line-void', () => ctx.api.post(`/checkout/carts/${c.id}/lines/${ln.id}/void`),
            'btn danger')));
    }

    function drawSell() {
      const c = s.cart;
      const lines = c ? c.lines : [];
      const qtyKey = field('checkout-qty', { type: 'number', min: '1', max: '999', value: '1', inputmode: 'numeric',
                                             style: 'max-width:90px' });
      const code = field('checkout-code', { placeholder: t('checkout.code_or_search'), enterkeyhint: 'go' });
      const results = h('ul', { class: 'list', 'data-testid': 'checkout-results' });
      code.addEventListener('keydown', async (e) => {
        if (e.key !== 'Enter') return;
        const text = code.value.trim();
        if (!text) return;
        if (/^[0-9A-Z-]{4,}$/i.test(text) && !/^[a-z]+$/i.test(text)) { code.value = ''; await scanCode(text, Number(qtyKey.value) || 1); return; }
        const found = await call(() => ctx.api.get('/checkout/items', { q: text }));
        if (!found) return;
        results.replaceChildren(...(found.items.length ? found.items.map((it) => {
          const b = h('button', { class: 'btn', type: 'button', 'data-testid': 'checkout-result', style: 'width:100%;justify-content:space-between' },
            h('span', {}, lineName(it, ctx.lang)), h('span', { class: 'muted' }, `${it.sku} ${fmt.money(it.price_minor)}${it.unit === 'kg' ? '/kg' : ''}`));
          b.addEventListener('click', async () => {
            const cc = await call(ensureCart);
            if (!cc) return;
            const body = { item_id: it.id };
            if (it.unit !== 'kg') body.qty = Number(qtyKey.value) || 1;
            setCart(await call(() => ctx.api.post(`/checkout/carts/${cc.id}/lines`, body)));
            results.replaceChildren(); code.value = '';
          });
          return h('li', {}, b);
        }) : [h('li', { class: 'muted' }, t('checkout.no_match'))]));
      });
      left.append(h('div', { class: 'card stack' },
        h('div', { class: 'row' }, h('label', { for: 'checkout-qty', style: 'white-space:nowrap' }, t('checkout.qty_key')), qtyKey, code), results));
      const queued = s.queued.map((x) => h('li', { 'data-testid': 'checkout-queued', class: 'muted',
                                                   style: 'padding:10px;border-bottom:1px dashed #bbb' },
        `${x.qty > 1 ? `${x.qty} × ` : ''}${x.code} · ${t('checkout.queued')}`));
      left.append(h('div', { class: 'card' },
        lines.length || queued.length ? h('ul', { class: 'list', 'data-testid': 'checkout-lines', style: 'list-style:none;margin:0;padding:0' },
          ...lines.map(drawLine), ...queued)
          : h('p', { class: 'empty', 'data-testid': 'checkout-empty' }, t('checkout.scan_to_start'))));
      if (c) { const la = lineActions(c); if (la) left.append(la); }

      // the right column: totals, tenders, actions
      const total = c ? c.total_minor : 0;
      right.append(h('div', { class: 'card stack' },
        h('div', { class: 'row', style: 'justify-content:space-between;font-size:1.6em' },
          h('span', {}, t('checkout.total')), h('strong', { 'data-testid': 'checkout-total' }, fmt.money(total))),
        c && c.discount_minor ? h('div', { class: 'row muted', style: 'justify-content:space-between' },
          h('span', {}, t('checkout.saved')), h('span', { 'data-testid': 'checkout-saved' }, fmt.money(c.discount_minor))) : null,
        c && c.paid_minor ? h('div', { class: 'row', style: 'justify-content:space-between' },
          h('span', {}, t('checkout.due')), h('strong', { 'data-testid': 'checkout-due' }, fmt.money(c.due_minor))) : null,
        ...(c ? c.tenders.filter((x) => x.state !== 'cancelled').map((x) => h('div', { class: 'row muted', 'data-testid': 'checkout-tender' },
          `${t(`checkout.m_${x.method}`)} ${fmt.money(x.amount_minor)} · ${t(isQr(x) && x.state === 'requesting' ? 'checkout.s_confirming' : `checkout.s_${x.state}`)}`)) : [])));
      if (c && c.status === 'open' && c.lines.length && !s.offline) {  // a single-use coupon (docs/coupons.md)
        const coupon = field('checkout-coupon', { placeholder: t('checkout.coupon_code'), maxlength: '24', autocapitalize: 'characters' });
        const apply = big(t('checkout.coupon_apply'), { 'data-testid': 'checkout-coupon-apply' });
        apply.addEventListener('click', async () => {
          if (!coupon.value.trim()) return;
          const out = await call(() => ctx.api.post(`/checkout/carts/${c.id}/coupons`, { code: coupon.value.trim() }));
          if (out) { setCart(out); ctx.toast(t('checkout.coupon_applied'), 'success'); }
        });
        right.append(h('div', { class: 'card stack', 'data-testid': 'checkout-coupons' },
          h('div', { class: 'row' }, coupon, apply),
          ...(c.coupons || []).map((x) => h('div', { class: 'row muted', 'data-testid': 'checkout-coupon-line' },
            `${t('checkout.coupon')} ${x.code.replace(/(.{4})(?=.)/g, '$1-')}`))));
      }
      if (s.sale) {
        const again = big(t('checkout.reprint'), { 'data-testid': 'checkout-reprint' });
        again.addEventListener('click', async () => { if (await call(() => ctx.api.post(`/checkout/sales/${s.sale.id}/reprint`))) ctx.toast(t('checkout.printed'), 'success'); });
        right.append(h('div', { class: 'card stack', 'data-testid': 'checkout-done', 'aria-live': 'polite' },
          h('strong', { style: 'font-size:1.4em' }, t('checkout.change', { amount: fmt.money(s.sale.change_minor) })),
          h('span', { 'data-testid': 'checkout-receipt' }, s.sale.receipt_code), again));
      }
      if (s.offline || s.queued.length) {
        right.append(h('div', { class: 'card stack', 'data-testid': 'checkout-offline-no-tender', role: 'status' },
          h('strong', {}, t('checkout.offline_no_tender'))));
      } else if (c && c.lines.length && c.status === 'open' && s.qr) {
        right.append(drawQr(c));
      } else if (c && c.lines.length && c.status === 'open' && s.card) {
        const amount = fmt.money(s.card.tender ? s.card.tender.amount_minor : s.card.amount || c.due_minor);
        right.append(h('div', { class: 'card stack', 'data-testid': 'checkout-card-terminal', 'data-phase': s.card.phase,
                                style: 'border:2px solid var(--primary)' },
          h('strong', { style: 'font-size:1.2em' }, t('checkout.card_terminal')),
          h('p', { 'aria-live': 'polite', style: 'font-size:1.3em;margin:0' },
            s.card.phase === 'waiting' ? t('checkout.card_checking', { amount }) : t('checkout.card_present', { amount })),
          s.card.note ? h('p', { class: 'muted', style: 'margin:0' }, s.card.note) : null));
      } else if (c && c.lines.length && c.status === 'open') {
        const pending = c.tenders.find((x) => x.method === 'card' && x.state === 'requesting');
        const received = field('cash-received', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal',
                                                  placeholder: fmt.money(c.cash_due_minor) });
        const cash = big(t('checkout.pay_cash'), { 'data-testid': 'checkout-pay-cash', class: 'btn big ok' });
        const payKey = key();
        cash.addEventListener('click', async () => {
          const body = { method: 'cash', idempotency_key: payKey };
          if (received.value) body.received_minor = Math.round(Number(received.value) * 100);
          done(await call(() => ctx.api.post(`/checkout/carts/${c.id}/tenders`, body)));
        });
        const cardAmount = field('card-amount', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal',
                                                  placeholder: fmt.money(c.due_minor) });
        const approval = field('card-approval', { placeholder: t('checkout.approval_code'), maxlength: '12' });
        const last4 = field('card-last4', { placeholder: t('checkout.last4'), maxlength: '4', inputmode: 'numeric' });
        const card = big(pending ? t('checkout.card_confirm') : t('checkout.pay_card'), { 'data-testid': 'checkout-pay-card', class: 'btn big primary' });
        const cardKey = key();
        card.addEventListener('click', async () => {
          if (pending) {
            done(await call(() => ctx.api.post(`/checkout/tenders/${pending.id}/confirm`, { approval_code: approval.value.trim(), card_last4: last4.value.trim() })));
            return;
          }
          const body = { method: 'card', idempotency_key: cardKey };
          if (cardAmount.value) body.amount_minor = Math.round(Number(cardAmount.value) * 100);
          if (approval.value.trim()) Object.assign(body, { approval_code: approval.value.trim(), card_last4: last4.value.trim() });
          done(await call(() => ctx.api.post(`/checkout/carts/${c.id}/tenders`, body)));
        });
        const qr = big(t('checkout.pay_qr'), { 'data-testid': 'checkout-pay-qr', class: 'btn big primary' });
        qr.addEventListener('click', qrChoose);
        const terminal = big(t('checkout.pay_card_terminal'), { 'data-testid': 'checkout-pay-card-terminal', class: 'btn big primary' });
        terminal.addEventListener('click', () => cardPay(cardAmount.value ? Math.round(Number(cardAmount.value) * 100) : null));
        const pts = field('points-n', { type: 'number', min: '1', step: '1', inputmode: 'numeric', placeholder: t('checkout.points_n') });
        const ptsBtn = big(t('checkout.pay_points'), { 'data-testid': 'checkout-pay-points', class: 'btn big' });
        const ptsKey = key();
        ptsBtn.addEventListener('click', async () => {
          const n = Math.round(Number(pts.value || 0));
          if (n > 0) done(await call(() => ctx.api.post(`/checkout/carts/${c.id}/points`, { points: n, idempotency_key: ptsKey })));
        });
        right.append(h('div', { class: 'card stack' }, received, cash),
          h('div', { class: 'card stack' }, pending ? h('p', { 'data-testid': 'card-requesting' }, t('checkout.key_in', { amount: fmt.money(pending.amount_minor) })) : cardAmount,
            h('div', { class: 'row gap' }, approval, last4), card, pending ? null : terminal),
          pending ? null : h('div', { class: 'card stack' }, qr),
          pending ? null : h('div', { class: 'card stack' }, h('div', { class: 'row gap' }, pts, ptsBtn)));
      }
      const actions = h('div', { class: 'row gap', style: 'flex-wrap:wrap' });
      if (c && c.status === 'open' && c.lines.length && !c.tenders.some((x) => ['paid', 'requesting', 'unknown'].includes(x.state))) {
        const hold = big(t('checkout.hold'), { 'data-testid': 'checkout-hold' });
        hold.addEventListener('click', async () => { if (await call(() => ctx.api.post(`/checkout/carts/${c.id}/hold`, {}))) await load(); });
        const voidIt = big(t('checkout.void_sale'), { 'data-testid': 'checkout-void', class: 'btn big danger' });
        voidIt.addEventListener('click', async () => { if (await call(() => ctx.api.post(`/checkout/carts/${c.id}/void`, { reason: t('checkout.void_reason') }))) { s.cart = null; await load(); } });
        actions.append(hold, voidIt);
      }
      const noSale = big(t('checkout.no_sale'), { 'data-testid': 'checkout-nosale' });
      const nsKey = key();
      noSale.addEventListener('click', async () => {
        if (await call(() => ctx.api.post(`/checkout/tills/${s.till}/no-sale`, { reason: t('checkout.no_sale_reason'), idempotency_key: nsKey, ...s.badge }))) ctx.toast(t('checkout.drawer_open'), 'success');
      });
      actions.append(noSale);
      right.append(actions);
      if (s.state && s.state.held.length) {
        right.append(h('div', { class: 'card stack', 'data-testid': 'checkout-held' }, h('strong', {}, t('checkout.held')),
          ...s.state.held.map((x) => {
            const b = big(`${x.code} · ${x.lines} · ${x.note || ''}`, { 'data-testid': 'checkout-held-cart' });
            b.addEventListener('click', async () => setCart(await call(() => ctx.api.post(`/checkout/tills/${s.till}/resume`, { cart_id: x.id }))));
            return b;
          })));
      }
    }

    function done(out) {
      if (!out) return;
      s.cart = out.cart;
      if (out.sale) { s.sale = out.sale; ctx.feedback.success(); s.selected = null; } else ctx.feedback.success();
      draw();
      if (out.sale) load().then(() => { s.sale = out.sale; draw(); });
    }

    function drawReturn() {
      const { sale, picks } = s.ret;
      const rows = sale.lines.map((ln) => {
        const box = h('input', { type: 'checkbox', 'data-testid': 'return-line', disabled: ln.returnable_qty <= 0, checked: !!picks[ln.line_no] });
        const qty = h('input', { type: 'number', class: 'field', min: '1', max: String(ln.returnable_qty), value: String(picks[ln.line_no]?.qty || (ln.weighed ? 1 : ln.returnable_qty)),
                                 disabled: ln.weighed, style: 'flex:0 0 90px;width:90px', 'data-testid': 'return-qty' });
        const disp = h('select', { class: 'field', 'data-testid': 'return-disposition', style: 'flex:0 0 180px;width:180px' },
          h('option', { value: 'restock' }, t('checkout.restock')), h('option', { value: 'writeoff' }, t('checkout.writeoff')));
        const pick = () => { if (box.checked) picks[ln.line_no] = { line_no: ln.line_no, qty: ln.weighed ? undefined : Number(qty.value), disposition: disp.value, reason: disp.value === 'writeoff' ? t('checkout.damaged') : '' }; else delete picks[ln.line_no]; };
        [box, qty, disp].forEach((el) => el.addEventListener('change', pick));
        return h('li', { class: 'row', style: 'padding:8px' }, box,
          h('span', { style: 'flex:1' }, `${ln.weighed ? fmt.qty(ln.qty, 'kg') : ln.qty + ' ×'} ${lineName(ln, ctx.lang)}`),
          h('span', { style: 'white-space:nowrap' }, fmt.money(ln.net_minor)), qty, disp);
      });
      const ok = big(t('checkout.refund'), { 'data-testid': 'return-ok', class: 'btn big primary' });
      const cardCode = field('return-card-approval', { placeholder: t('checkout.approval_code'), maxlength: '12' });
      const retKey = key();
      ok.addEventListener('click', async () => {
        const lines = Object.values(picks).map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined && v !== '')));
        const body = { till_id: s.till, receipt_code: sale.receipt_code, lines, idempotency_key: retKey };
        if (cardCode.value.trim()) body.card_approval_code = cardCode.value.trim();
        const r = await call(() => ctx.api.post('/checkout/returns', { ...body, ...s.badge }));
        if (r) { ctx.feedback.success(); s.ret.done = r; draw(); }
      });
      const back = big(t('checkout.back_to_sale'), { 'data-testid': 'return-back' });
      back.addEventListener('click', () => { s.mode = 'sell'; s.ret = null; load(); });
      left.append(h('div', { class: 'card stack', 'data-testid': 'return-panel' },
        h('h2', {}, t('checkout.return_of', { code: sale.receipt_code })),
        h('ul', { class: 'list', style: 'list-style:none;padding:0' }, ...rows)));
      right.append(h('div', { class: 'card stack' },
        s.ret.done ? h('strong', { 'data-testid': 'return-done', style: 'font-size:1.4em' }, t('checkout.refunded', { amount: fmt.money(s.ret.done.refund_minor) })) : null,
        cardCode, ok, back));
    }

    function drawApproval() {
      if (!s.pending) return;
      const badge = field('approval-badge', { type: 'password', placeholder: t('checkout.badge') });
      const ok = big(t('checkout.approve'), { 'data-testid': 'approval-ok', class: 'btn big primary' });
      ok.addEventListener('click', () => approve(badge.value.trim()));
      const cancel = big(t('common.cancel'), { 'data-testid': 'approval-cancel' });
      cancel.addEventListener('click', () => { s.pending = null; s.badge = undefined; draw(); });
      right.prepend(h('div', { class: 'card stack', 'data-testid': 'checkout-approval', role: 'alert' },
        h('strong', {}, t('checkout.need_badge')), badge, h('div', { class: 'row gap' }, ok, cancel)));
    }

    async function approve(badge) {
      const fn = s.pending;
      s.pending = null;
      s.badge = { approval_badge: badge };
      // the pending call re-reads s.badge when it builds its body
      const out = await call(fn);
      s.badge = undefined;
      if (out && out.lines) setCart(out);
      else if (out && out.return_id) { s.ret.done = out; draw(); }
      else if (out) { ctx.toast(t('checkout.drawer_open'), 'success'); draw(); }
    }

    function draw() {
      left.replaceChildren(); right.replaceChildren();
      const head = h('div', { class: 'row', style: 'justify-content:space-between' },
        h('strong', { 'data-testid': 'checkout-till-id' }, s.till ? t('checkout.till_n', { till: s.till }) : t('checkout.title')),
        s.state ? h('span', { class: 'pill' }, s.state.business_date) : null);
      left.append(head);
      if (s.offline) {
        left.append(h('div', { class: 'card', role: 'alert', 'data-testid': 'checkout-offline',
                               style: 'background:#fff3cd;border:2px solid #c99a00;font-weight:600' },
          t('checkout.offline_banner', { n: s.queued.length })));
      }
      if (!s.state || !s.state.shift) { drawSetup(); return; }
      if (s.mode === 'return') drawReturn(); else drawSell();
      drawApproval();
    }

    activeScan = async (code) => {
      if (s.pending) { await approve(code); return; }
      if (!s.state || !s.state.shift) { ctx.toast(t('checkout.open_first'), 'warn'); return; }
      if (s.qr && s.mode === 'sell') { await qrScan(code); return; }  // the customer's payment code: to the tender
      if (PAY_CODE.test(code)) { ctx.feedback.warn(); ctx.toast(t('checkout.qr_choose_first'), 'warn'); return; }
      const qty = Number(document.getElementById('checkout-qty')?.value) || 1;
      await scanCode(code, qty);
    };
    s.badge = undefined;
    // a customer display opened (or reloaded) after the prompt went up asks what to show
    const ch = displayChannel();
    if (ch) {
      const hello = (e) => { if (e.data && e.data.hello === s.till) tellDisplay(); };
      ch.addEventListener('message', hello);
      ctx.signal.addEventListener('abort', () => { ch.removeEventListener('message', hello); if (s.qr) clearTimeout(s.qr.timer); });
    }
    return load();
  },
  onScan(code) {
    if (activeScan) activeScan(code);
    return true;
  },
  onLeave() { activeScan = null; },
};
