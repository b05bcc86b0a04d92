// The customer-facing display of a till (/display/<till>): follows the till's cart live over the hub's event
// stream (checkout.cart facts) in both languages. It runs in the till's browser (same session), reads only.
// The payment under way comes from the hub with the cart (its `tender` block, kept server-side): "show your
// payment code" (the till asked for it) and "confirm on your phone" (a WeChat Pay / Alipay tender pending), "insert
// or tap your card" (a card on the integrated terminal), "payment failed" with the reason, what each tender paid,
// what is still due and the change. A display opened in the middle of a payment shows it from the hub's cart.
// The till screen's BroadcastChannel message (same browser) only makes the payment-code prompt appear sooner.

const till = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const $ = (id) => document.getElementById(id);
const money = (minor) => `¥${(minor / 100).toFixed(2)}`;
const METHOD = {
  cash: '现金 Cash',
  card: '银行卡 Card',
  card_terminal: '银行卡 Card',
  wechatpay: '微信支付 WeChat Pay',
  alipay: '支付宝 Alipay',
  points: '积分 Points',
};
const REASON = {
  terminal_declined: '银行拒绝 Declined by the bank',
  terminal_cancelled: '已取消 Cancelled',
  terminal_timeout: '超时未刷卡 No card presented in time',
  terminal_comm_lost: '终端通讯中断 Terminal not reachable',
  terminal_no_such_transaction: '未扣款 Nothing was charged',
};
let errorTexts = {};

// qr: null, or {phase: 'show' | 'confirm', amount_minor}
function showQr(qr) {
  $('qr').hidden = !qr;
  $('qr').dataset.phase = qr ? qr.phase : '';
  if (!qr) return;
  $('qr-show').hidden = qr.phase !== 'show';
  $('qr-confirm').hidden = qr.phase !== 'confirm';
  $('qr-amount').textContent = money(qr.amount_minor || 0);
  // asked again after a refused code: say the last one failed
  $('qr-failed').hidden = !(qr.phase === 'show' && qr.error);
  $('qr-failed').textContent = qr.error ? `支付失败 Payment failed · ${REASON[qr.error] || errorTexts[`err.pay.${qr.error}`] || qr.error}` : '';
}

// pay: null, or {phase: 'card' | 'checking' | 'failed', method, amount_minor, error}
function showPay(pay) {
  $('pay').hidden = !pay;
  $('pay').dataset.phase = pay ? pay.phase : '';
  if (!pay) return;
  $('pay-card').hidden = pay.phase !== 'card';
  $('pay-checking').hidden = pay.phase !== 'checking';
  $('pay-failed').hidden = pay.phase !== 'failed';
  $('pay-brand').textContent = METHOD[pay.method] || METHOD.card;
  const reason = pay.error ? (REASON[pay.error] || errorTexts[`err.${pay.error}`] || pay.error) : '';
  $('pay-reason').textContent = pay.phase === 'failed' ? reason : '';
  $('pay-amount').textContent = money(pay.amount_minor || 0);
}

// the hub's tender block → the two prompts
function showTender(t, status) {
  if (!t || status !== 'open') { showQr(null); showPay(null); return; }
  const qr = t.phase === 'show_code' ? { phase: 'show', amount_minor: t.amount_minor, error: t.error }
    : t.phase === 'confirm_on_phone' ? { phase: 'confirm', amount_minor: t.amount_minor } : null;
  showQr(qr);
  const pay = t.phase === 'present_card' ? { phase: 'card', method: t.method, amount_minor: t.amount_minor }
    : t.phase === 'checking_card' ? { phase: 'checking', method: t.method, amount_minor: t.amount_minor }
      : t.phase === 'failed' ? { phase: 'failed', method: t.method, amount_minor: t.amount_minor, error: t.error }
        : null;
  showPay(pay);
}

function show(c) {
  const lines = (c && c.status === 'open' ? c.lines : []) || [];
  $('lines').replaceChildren(...lines.slice(-12).map((ln) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    const qty = ln.weighed ? `${(ln.qty / 1000).toFixed(3)} kg` : `${ln.qty} ×`;
    const en0 = ln.name || ln.name_en || ln.sku;
    name.textContent = `${qty} ${ln.name_zh || en0}`;
    const en = document.createElement('small');
    en.textContent = en0;
    name.append(en);
    const amount = document.createElement('span');
    amount.textContent = money(ln.net_minor);
    li.append(name, amount);
    return li;
  }));
  const done = c && c.status === 'completed';
  const t = c && c.tender;
  const paidList = (t && (c.status === 'open' || done) ? t.paid : []) || [];
  $('tenders').replaceChildren(...paidList.map((p) => {
    const li = document.createElement('li');
    li.className = 'row';
    li.dataset.method = p.method;
    const name = document.createElement('span');
    name.textContent = (METHOD[p.method] || p.method) + (p.points ? ` (${p.points} 分 pts)` : '');
    const amount = document.createElement('span');
    amount.textContent = money(p.amount_minor);
    li.append(name, amount);
    return li;
  }));
  $('total').textContent = money(c ? c.total_minor : 0);
  $('paid-row').hidden = !(c && c.paid_minor);
  $('paid').textContent = money(c ? c.paid_minor : 0);
  const due = c && c.status === 'open' && c.paid_minor ? Math.max(0, c.due_minor || 0) : 0;
  $('due-row').hidden = !due;
  $('due').textContent = money(due);
  $('change-row').hidden = !(done && c.change_minor);
  $('change').textContent = money(c ? c.change_minor : 0);
  showTender(t, c && c.status);
}

async function start() {
  $('till').textContent = `收银台 Till ${till}`;
  try {
    const r = await fetch('/i18n/errors.zh-CN.json');
    if (r.ok) errorTexts = await r.json();
  } catch { /* the built-in reasons are enough */ }
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('storehub.display') : null;
  if (channel) {
    channel.onmessage = (e) => { if (e.data && e.data.till === till && 'qr' in e.data && e.data.qr) showQr(e.data.qr); };
  }
  try {
    const r = await fetch(`/api/v1/checkout/tills/${encodeURIComponent(till)}/display`, { credentials: 'same-origin' });
    if (r.ok) show(await r.json());
  } catch { /* the stream below brings the cart when the hub answers */ }
  if (channel) channel.postMessage({ hello: till });   // the till screen answers with its prompt, if any
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  es.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (ev.kind !== 'checkout.cart' || ev.payload.till_id !== till) return;
    show(ev.payload);
  };
}

start();
document.documentElement.dataset.ready = '1';
