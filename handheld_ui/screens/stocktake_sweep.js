// RFID sweep of a count: point a reader at this count (scan the label of the area it covers), then watch
// unique tags, reads per second, per-item progress against the book and serialised tags expected here but
// not read yet. Figures refresh every second and on every flush the hub records.

import { h, icon } from '../js/dom.js';
import { itemName } from './lookup.js';
import { errText } from './stocktake.js';

const READER_KEY = 'storehub.rfid.reader';
let active = null;

export default {
  id: 'stocktake_sweep',
  titleKey: 'stocktake_sweep.title',
  minRole: 'associate',
  icon: 'rfid',
  home: false,
  accepts: ['location', 'item'], // a location starts the sweep there; an item is a mistake said here, not a jump
  async render(ctx, params) {
    const { t } = ctx;
    const id = params.id;
    const st = { location: null, reader: localStorage.getItem(READER_KEY) || '', running: false, prev: null, timer: null };

    const reader = h('input', { class: 'field', 'data-testid': 'sweep-reader', value: st.reader, maxlength: 64,
      placeholder: 'fx9600-1', autocapitalize: 'off', spellcheck: 'false' });
    // The registered readers (device registry) to pick from; "other" keeps typing an id for a reader that feeds
    // the hub without registering (HTTP ingest). With none registered only the typed id is offered.
    const OTHER = '';
    const pick = h('select', { class: 'field', 'data-testid': 'sweep-reader-pick', hidden: true,
      'aria-label': t('stocktake_sweep.reader'), onchange: () => { reader.hidden = pick.value !== OTHER; } });
    try {
      const devs = (await ctx.api.get('/devices', { kind: 'rfid', limit: 100 })).items;
      if (devs.length) {
        pick.replaceChildren(...devs.map((d) => h('option', { value: d.id },
          d.online ? d.id : t('stocktake_sweep.reader_offline', { id: d.id }))),
        h('option', { value: OTHER }, t('stocktake_sweep.reader_other')));
        const known = devs.find((d) => d.id === st.reader);
        pick.value = known ? known.id : (devs.find((d) => d.online) || devs[0]).id;
        pick.hidden = false;
        reader.hidden = true;
      }
    } catch (err) { /* registry unreadable: the typed id still works */ }
    const locLabel = h('span', { class: 'loc-code', 'data-testid': 'sweep-location' }, '—');
    const start = h('button', { type: 'button', class: 'btn primary big', 'data-testid': 'sweep-start', onclick: () => begin() },
      icon('rfid'), t('stocktake_sweep.start'));
    const stop = h('button', { type: 'button', class: 'btn', 'data-testid': 'sweep-stop', hidden: true, onclick: () => end() },
      icon('x'), t('stocktake_sweep.stop'));
    const stat = (testid, key) => {
      const v = h('div', { class: 'v', 'data-testid': testid }, '0');
      return [v, h('div', { class: 'stat' }, v, h('div', { class: 'k' }, t(key)))];
    };
    const [uniqueV, uniqueBox] = stat('sweep-unique', 'stocktake_sweep.unique');
    const [countedV, countedBox] = stat('sweep-counted', 'stocktake_sweep.counted');
    const [rateV, rateBox] = stat('sweep-rate', 'stocktake_sweep.rate');
    const items = h('div', { 'data-testid': 'sweep-items' });
    const missing = h('div', { 'data-testid': 'sweep-missing' });
    ctx.root.append(
      h('div', { class: 'card stack' }, h('label', { class: 'label' }, t('stocktake_sweep.reader'), pick, reader),
        h('div', { class: 'row' }, icon('pin', 'icon lg'), h('span', { class: 'grow' }, t('stocktake_sweep.scan_area')), locLabel),
        start, stop),
      h('div', { style: { display: 'grid', gridTemplateColumns: '1fr 1fr 1fr', gap: '8px' } }, uniqueBox, countedBox, rateBox),
      items, missing);

    async function begin() {
      const r = (!pick.hidden && pick.value !== OTHER ? pick.value : reader.value).trim().toLowerCase();
      if (!r) { ctx.toast(t('stocktake_sweep.need_reader'), 'warn'); return; }
      if (!st.location) { ctx.toast(t('stocktake_sweep.need_location'), 'warn'); ctx.feedback.warn(); return; }
      try {
        await ctx.api.post(`/stocktake/sessions/${id}/sweeps`, { reader: r, location_id: st.location.id });
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
        return;
      }
      localStorage.setItem(READER_KEY, r);
      st.reader = r;
      st.running = true;
      start.hidden = true;
      stop.hidden = false;
      ctx.feedback.success();
      poll();
    }

    async function end() {
      try {
        await ctx.api.post(`/stocktake/sessions/${id}/sweeps/stop`, { reader: st.reader });
      } catch (err) {
        if (err.code !== 'no_open_sweep') { ctx.toast(errText(ctx, err), 'error'); return; }
      }
      st.running = false;
      start.hidden = false;
      stop.hidden = true;
      await refresh();
    }

    async function refresh() {
      let v;
      try {
        v = await ctx.api.get(`/stocktake/sessions/${id}/rfid`, st.location ? { location_id: st.location.id } : {});
      } catch (err) {
        return;
      }
      const now = performance.now();
      const mine = v.sweeps.filter((s) => s.reader === st.reader).reduce((a, s) => a + s.raw_reads, 0);
      if (st.prev && now > st.prev.at) {
        rateV.textContent = ctx.fmt.number(Math.max(0, Math.round((mine - st.prev.raw) * 1000 / (now - st.prev.at))));
      }
      st.prev = { at: now, raw: mine };
      uniqueV.textContent = ctx.fmt.number(v.unique_tags);
      countedV.textContent = ctx.fmt.number(v.counted_tags);
      items.replaceChildren(v.items.length ? h('div', { class: 'card' }, h('h3', {}, t('stocktake_sweep.progress')),
        h('ul', { class: 'list' }, v.items.slice(0, 60).map((x) => {
          const pct = x.expected ? Math.min(100, Math.round((100 * x.read) / x.expected)) : 100;
          return h('li', { class: 'stack', 'data-testid': 'sweep-item', 'data-sku': x.sku },
            h('div', { class: 'row' }, h('span', { class: 'grow' }, itemName(x, ctx.lang)),
              h('span', { class: 'num' }, x.expected === null ? String(x.read) : `${x.read} / ${x.expected}`)),
            x.expected === null ? null : h('progress', { max: 100, value: pct, style: { width: '100%' } }));
        }))) : '');
      missing.replaceChildren(v.expected_missing.length ? h('div', { class: 'card' },
        h('h3', {}, t('stocktake_sweep.missing', { n: v.expected_missing.length })),
        h('ul', { class: 'list' }, v.expected_missing.slice(0, 30).map((m) => h('li', { class: 'row', 'data-testid': 'sweep-missing-epc' },
          h('span', { class: 'grow' }, m.sku || '?'), h('span', { class: 'sub' }, `${m.location_code || ''} · ${m.epc}`))))) : '');
    }

    function poll() {
      clearTimeout(st.timer);
      if (ctx.signal.aborted) return;
      refresh().finally(() => {
        if (!ctx.signal.aborted) st.timer = setTimeout(poll, 1000);
      });
    }
    ctx.signal.addEventListener('abort', () => clearTimeout(st.timer));
    ctx.onLive('count.rfid', (p) => { if (p.session_id === id) refresh(); });

    active = async (res) => {
      if (res.kind !== 'location') { ctx.feedback.warn(); ctx.toast(t('stocktake_sweep.need_location'), 'warn'); return; }
      st.location = res.location;
      locLabel.textContent = res.location.code;
      ctx.feedback.success();
      try {
        await refresh();
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
    };
    await refresh();
    poll();
  },
  onScan(code, ctx, scan) {
    if (!active) return false;
    active(scan.resolved);
    return true;
  },
  onLeave() {
    active = null;
  },
};
