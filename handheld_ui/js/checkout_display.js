// The customer-facing display of a till (/display/<till>): follows the till's cart live over the hub's event
// stream (checkout.cart facts) in both languages. It runs in the till's browser (same session), reads only.
// The WeChat Pay / Alipay prompt ("show your payment code", then "confirm on your phone", with the amount) comes
// from the till screen over a BroadcastChannel of that browser; a payment-code tender already pending on the hub
// when the display opens is shown from the hub's cart.

const till = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const $ = (id) => document.getElementById(id);
const money = (minor) => `¥${(minor / 100).toFixed(2)}`;
const CODE_METHODS = ['wechatpay', 'alipay'];

// qr: null, or {phase: 'show' | 'confirm', amount_minor}
function showQr(qr) {
  $('qr').hidden = !qr;
  $('qr').dataset.phase = qr ? qr.phase : '';
  if (!qr) return;
  $('qr-show').hidden = qr.phase !== 'show';
  $('qr-confirm').hidden = qr.phase !== 'confirm';
  $('qr-amount').textContent = money(qr.amount_minor || 0);
}

function pendingCode(c) {
  const t = c && c.status === 'open' && (c.tenders || []).find((x) => CODE_METHODS.includes(x.method)
    && ['requesting', 'unknown'].includes(x.state));
  return t ? { phase: 'confirm', amount_minor: t.amount_minor } : null;
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
  $('total').textContent = money(c ? c.total_minor : 0);
  $('paid-row').hidden = !(c && c.paid_minor);
  $('paid').textContent = money(c ? c.paid_minor : 0);
  $('change-row').hidden = !(done && c.change_minor);
  $('change').textContent = money(c ? c.change_minor : 0);
}

async function start() {
  $('till').textContent = `收银台 Till ${till}`;
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('storehub.display') : null;
  if (channel) {
    channel.onmessage = (e) => { if (e.data && e.data.till === till && 'qr' in e.data) showQr(e.data.qr); };
  }
  try {
    const r = await fetch(`/api/v1/checkout/tills/${encodeURIComponent(till)}/display`, { credentials: 'same-origin' });
    if (r.ok) {
      const c = await r.json();
      show(c);
      showQr(pendingCode(c));
    }
  } catch { /* the stream below brings the cart when the hub answers */ }
  if (channel) channel.postMessage({ hello: till });   // the till screen answers with its prompt, if any
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  es.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (ev.kind !== 'checkout.cart' || ev.payload.till_id !== till) return;
    show(ev.payload);
    if (ev.payload.status !== 'open') showQr(null);    // sold or voided: no prompt left
  };
}

start();
document.documentElement.dataset.ready = '1';
