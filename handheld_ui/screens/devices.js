// Devices for supervisors: which store devices are online, what they last reported, open device and
// shelf alerts, rejected messages, and a few safe commands (beep, tare, zero, test print).

import { h, icon } from '../js/dom.js';

const COMMANDS = { scanner: ['beep'], scale: ['tare', 'zero'], printer: ['print'], rfid: ['beep'], shelf: ['tare'] };

function errText(ctx, err) {
  if (err && err.offline) return ctx.t('devices.offline_hub');
  return (err && err.message) || String(err);
}

function ago(ctx, iso) {
  return iso ? ctx.fmt.time(iso) : ctx.t('devices.never');
}

function alertRow(ctx, a) {
  return h('li', { class: 'row', 'data-testid': 'device-alert', 'data-kind': a.kind },
    icon(a.severity === 'critical' ? 'alert' : 'clock', 'icon lg'),
    h('span', { class: 'grow' }, h('strong', {}, ctx.t(`devices.alert_${a.kind}`)),
      h('div', { class: 'sub' }, `${a.subject} · ${ctx.fmt.time(a.raised_at)}`)));
}

async function renderList(ctx) {
  const { t } = ctx;
  const alertsBox = h('div', { class: 'card', 'data-testid': 'device-alerts', 'aria-live': 'polite' });
  const listBox = h('div', { class: 'card', 'data-testid': 'device-list' }, h('p', { class: 'muted' }, t('devices.loading')));
  const deadBox = h('div', { class: 'card', 'data-testid': 'dead-letters' });
  ctx.root.append(h('h2', {}, t('devices.title')), alertsBox, listBox, deadBox);

  async function load() {
    let devs, alerts, dead;
    try {
      [devs, alerts, dead] = await Promise.all([
        ctx.api.get('/devices', { limit: 200 }),
        ctx.api.get('/alerts', { limit: 50 }),
        ctx.api.get('/dead-letters', { limit: 5 }),
      ]);
    } catch (err) {
      listBox.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
      return;
    }
    alertsBox.replaceChildren(h('h3', {}, t('devices.alerts', { n: alerts.total })),
      alerts.items.length ? h('ul', { class: 'list' }, alerts.items.map((a) => alertRow(ctx, a)))
        : h('p', { class: 'muted', 'data-testid': 'no-alerts' }, t('devices.no_alerts')));
    if (!devs.items.length) {
      listBox.replaceChildren(h('div', { class: 'empty' }, icon('box', 'icon xl'), h('p', {}, t('devices.none'))));
    } else {
      const online = devs.items.filter((d) => d.online).length;
      listBox.replaceChildren(h('h3', {}, t('devices.summary', { online, total: devs.total })),
        h('ul', { class: 'list' }, devs.items.map((d) => h('li', {},
          h('button', { type: 'button', class: 'list-btn', 'data-testid': 'device-row', 'data-device': d.id,
            'data-online': d.online ? '1' : '0', onclick: () => ctx.navigate('devices', { id: d.id }) },
            icon(d.online ? 'online' : 'offline', 'icon lg'),
            h('span', { class: 'grow' }, h('strong', {}, d.id),
              h('div', { class: 'sub' }, `${t(`devices.kind_${d.kind || 'unknown'}`)} · ${t('devices.last_seen', { when: ago(ctx, d.last_seen) })}`)),
            h('span', { class: 'pill' }, d.online ? t('devices.online') : t('devices.offline')), icon('chevron'))))));
    }
    deadBox.replaceChildren(h('h3', {}, t('devices.rejected', { n: dead.total })),
      dead.items.length ? h('ul', { class: 'list' }, dead.items.map((m) => h('li', { 'data-testid': 'dead-letter' },
        h('strong', {}, m.device_id || '—'), h('div', { class: 'sub' }, `${m.reason} · ${ctx.fmt.time(m.received_at)}`))))
        : h('p', { class: 'muted' }, t('devices.no_rejected')));
  }

  let timer = null;
  const soon = () => { clearTimeout(timer); timer = setTimeout(load, 800); };
  ctx.onLive('*', (payload, ev) => { if (/^(device|alert|shelf)\./.test(ev.kind || '')) soon(); });
  const poll = setInterval(load, 30000);
  ctx.signal.addEventListener('abort', () => { clearInterval(poll); clearTimeout(timer); });
  await load();
}

async function renderDevice(ctx, id) {
  const { t } = ctx;
  let d;
  try {
    d = await ctx.api.get(`/devices/${encodeURIComponent(id)}`);
  } catch (err) {
    ctx.root.append(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
    return;
  }
  const rows = [
    [t('devices.status'), d.online ? t('devices.online') : t('devices.offline')],
    [t('devices.kind'), t(`devices.kind_${d.kind || 'unknown'}`)],
    [t('devices.model'), d.model || '—'],
    [t('devices.firmware'), d.firmware || '—'],
    [t('devices.seen'), ago(ctx, d.last_seen)],
    [t('devices.events'), ctx.fmt.number(d.events_total)],
    [t('devices.rejected_n'), ctx.fmt.number(d.rejected_total)],
  ];
  if (d.battery_pct != null) rows.push([t('devices.battery'), `${d.battery_pct}%`]);
  if (d.paper) rows.push([t('devices.paper'), t(`devices.paper_${d.paper}`)]);
  if (d.error) rows.push([t('devices.error'), d.error]);
  if (d.weight) rows.push([t('devices.weight'), ctx.fmt.qty(d.weight.grams, 'kg')]);
  if (d.shelf) rows.push([t('devices.shelf'), `${d.shelf.sku} · ${d.shelf.units ?? '—'} (${d.shelf.location_code})`]);
  const result = h('p', { class: 'muted', 'data-testid': 'command-result', 'aria-live': 'polite' });
  const buttons = (COMMANDS[d.kind] || []).map((action) => h('button', {
    type: 'button', class: 'btn big', 'data-testid': `cmd-${action}`,
    onclick: async () => {
      const body = action === 'print' ? { document: { type: 'text', text: t('devices.test_page') } } : {};
      try {
        const r = await ctx.api.post(`/devices/${encodeURIComponent(id)}/commands/${action}`, body);
        result.textContent = t('devices.sent', { id: r.request_id });
        ctx.feedback.success();
      } catch (err) {
        result.textContent = errText(ctx, err);
        ctx.feedback.error();
      }
    },
  }, t(`devices.cmd_${action}`)));
  ctx.root.append(
    h('h2', { 'data-testid': 'device-id' }, d.id),
    h('div', { class: 'card' }, h('dl', { class: 'kv' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
    d.alerts.length ? h('div', { class: 'card' }, h('ul', { class: 'list' }, d.alerts.map((a) => alertRow(ctx, a)))) : '',
    buttons.length ? h('div', { class: 'card' }, h('div', { class: 'row gap' }, buttons), result) : '',
    h('button', { type: 'button', class: 'btn', onclick: () => ctx.navigate('devices') }, t('common.back')),
  );
}

export default {
  id: 'devices',
  titleKey: 'devices.title',
  minRole: 'supervisor',
  icon: 'sync',
  order: 85,
  render(ctx, params) {
    return params && params.id ? renderDevice(ctx, params.id) : renderList(ctx);
  },
};
