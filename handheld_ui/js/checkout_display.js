// The customer-facing display of a till (/display/<till>): follows the till's cart live over the hub's event
// stream (checkout.cart facts) in both languages. It runs in the till's browser (same session), reads only.

const till = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
const $ = (id) => document.getElementById(id);
const money = (minor) => `¥${(minor / 100).toFixed(2)}`;

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
  try {
    const r = await fetch(`/api/v1/checkout/tills/${encodeURIComponent(till)}/display`, { credentials: 'same-origin' });
    if (r.ok) show(await r.json());
  } catch { /* the stream below brings the cart when the hub answers */ }
  const es = new EventSource('/api/v1/events', { withCredentials: true });
  es.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (ev.kind === 'checkout.cart' && ev.payload.till_id === till) show(ev.payload);
  };
}

start();
document.documentElement.dataset.ready = '1';
