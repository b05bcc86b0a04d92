// The scan loop of a count. Scan a location label (SHL-…) to set the bin, then scan items: each scan adds
// one (or the quantity typed first; a weight label adds its weight). Every scan carries its own key; scans
// made while the hub is unreachable wait in the offline queue and are replayed once it is back, never
// counted twice. Feedback is instant: sound + vibration, running count, last item, wrong-zone warning.
// A guided count shows the bin's book list and keeps it current as anyone counts there (it follows the
// count.scan / count.undo facts live). "Zone done" signs off the counter's zone (or the bin they are at)
// for the supervisor's review.

import { h, icon } from '../js/dom.js';
import { setThumb, thumb } from '../js/picture.js';
import { itemName, pictureSource } from './lookup.js';
import { buttonRow, errText } from './stocktake.js';

let active = null; // the open count's scan handler

export default {
  id: 'stocktake_count',
  titleKey: 'stocktake_count.title',
  minRole: 'associate',
  icon: 'barcode',
  home: false,
  accepts: ['*'], // every scan as scanned: counting goes on while the hub is away (scans queue on the device)
  async render(ctx, params) {
    const { t } = ctx;
    const id = params.id;
    const recount = params.rc_item ? { item_id: params.rc_item, location_id: params.rc_loc, sku: params.rc_sku,
      code: params.rc_code } : null;
    const st = { session: null, seq: 0, shown: 0, queued: 0, totals: { scans: 0, items: 0 }, bin: null, binId: null };

    let session;
    try {
      session = await ctx.api.get(`/stocktake/sessions/${id}`);
    } catch (err) {
      ctx.root.replaceChildren(h('div', { class: 'empty error' }, icon('alert', 'icon lg'), h('p', {}, errText(ctx, err))));
      return;
    }
    st.session = session;
    st.totals = session.my_totals || st.totals;
    if (session.me && session.me.current_location_id) {
      const cur = (session.counters || []).find((c) => c.user_id === session.me.user_id);
      st.bin = cur ? cur.current_location_code : null;
      st.binId = session.me.current_location_id;
    }
    if (recount) { st.bin = recount.code; st.binId = recount.location_id; }
    const guided = session.mode === 'guided';

    const bin = h('span', { class: 'loc-code', 'data-testid': 'count-bin' }, st.bin || '—');
    const binCard = h('div', { class: 'card row' }, icon('pin', 'icon lg'),
      h('span', { class: 'grow' }, h('div', { class: 'label' }, t('stocktake_count.bin')), bin));
    const scansStat = h('div', { class: 'v', 'data-testid': 'count-scans' }, ctx.fmt.number(st.totals.scans));
    const itemsStat = h('div', { class: 'v', 'data-testid': 'count-items' }, ctx.fmt.number(st.totals.items));
    const queuedStat = h('div', { class: 'v', 'data-testid': 'count-queued' }, '0');
    const stats = h('div', { class: 'chips', style: { display: 'grid', gridTemplateColumns: '1fr 1fr 1fr', gap: '8px' } },
      h('div', { class: 'stat' }, scansStat, h('div', { class: 'k' }, t('stocktake_count.my_scans'))),
      h('div', { class: 'stat' }, itemsStat, h('div', { class: 'k' }, t('stocktake_count.items'))),
      h('div', { class: 'stat' }, queuedStat, h('div', { class: 'k' }, t('stocktake_count.offline'))));
    const lastName = h('strong', { 'data-testid': 'count-last-name' }, t('stocktake_count.nothing_yet'));
    const lastQty = h('div', { class: 'loc-qty', 'data-testid': 'count-last-qty' }, '');
    // the last scanned item's picture: the counter sees at a glance that the scan was the thing in their hand
    const lastThumb = thumb({ none: true }, { cls: 'thumb md', testid: 'count-last-thumb' });
    const last = h('div', { class: 'card stack', 'data-testid': 'count-last', 'data-seq': '0', 'aria-live': 'polite' },
      h('div', { class: 'label' }, t('stocktake_count.last')),
      h('div', { class: 'row' }, lastThumb, h('div', { class: 'grow stack' }, lastName, lastQty)));
    const warn = h('div', { class: 'card', 'data-testid': 'count-warning', role: 'alert', hidden: true });
    const expectedBox = h('div', { 'data-testid': 'count-expected' });
    const qty = h('input', { class: 'field', type: 'number', inputmode: 'numeric', min: 1, step: 1,
      'data-testid': 'count-qty', placeholder: t('stocktake_count.qty_hint'), 'aria-label': t('common.qty') });
    const prompt = h('div', { class: 'scan-prompt', 'data-testid': 'count-prompt' }, icon('barcode', 'icon lg'),
      h('span', {}, recount ? t('stocktake_count.recount_prompt', { sku: recount.sku, code: recount.code })
        : t(st.bin ? 'stocktake_count.scan_items' : 'stocktake_count.scan_location')));
    const undo = h('button', { type: 'button', class: 'btn', 'data-testid': 'count-undo', onclick: () => doUndo() },
      icon('back'), t('stocktake_count.undo'));
    const buttons = [undo];
    if (!recount) {
      buttons.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'count-sweep',
        onclick: () => ctx.navigate('stocktake_sweep', { id }) }, icon('rfid'), t('stocktake_count.sweep')));
    } else {
      buttons.push(h('button', { type: 'button', class: 'btn primary', 'data-testid': 'count-recount-done',
        onclick: () => finishRecount() }, icon('check'), t('stocktake_count.recount_done')));
    }
    const zoneState = h('p', { class: 'sub', 'data-testid': 'count-zone-state', hidden: true });
    const zoneBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'count-zone-done', onclick: () => zoneDone() },
      icon('check'), t('stocktake_count.zone_done'));
    if (!recount && session.status === 'open') buttons.push(zoneBtn);
    if (ctx.hasRole('supervisor')) {
      buttons.push(h('button', { type: 'button', class: 'btn', 'data-testid': 'count-to-review',
        onclick: () => ctx.navigate('stocktake_review', { id }) }, icon('flag'), t('stocktake_count.review')));
    }
    ctx.root.replaceChildren(
      h('div', { class: 'row' }, h('strong', { class: 'grow', 'data-testid': 'count-title' }, session.name),
        h('span', { class: 'pill' }, t(guided ? 'stocktake_count.guided' : 'stocktake_count.blind'))),
      prompt, binCard, stats, last, warn, expectedBox, h('label', { class: 'label' }, t('stocktake_count.qty_label'), qty),
      buttonRow(buttons, 'count-actions'), zoneState);
    showZones(session.zones_done || []);

    // One scan at a time, in order. While the hub is reachable and nothing waits in the offline queue a scan
    // is posted straight away (its key fixed first); if the hub cannot be reached it goes into the queue with
    // that same key, so a request that did arrive is never counted twice. Anything queued before keeps its
    // place: once the queue holds something, every later scan goes through the queue behind it.
    let chain = Promise.resolve();
    const RETRY = (err) => err.offline || err.status === 0 || err.status === 401 || err.status === 429 || err.status >= 500;
    function send(path, body, label) {
      const run = async () => {
        const b = { ...body, idempotency_key: ctx.newKey() };
        const pending = document.documentElement.dataset.pending;
        if (ctx.online && (pending === undefined || pending === '0')) {
          try {
            return { state: 'done', result: await ctx.api.post(path, b) };
          } catch (err) {
            if (!RETRY(err)) {
              return { state: 'failed', error: { status: err.status, code: err.code, message: err.message, details: err.details } };
            }
          }
        }
        return ctx.queueAction({ method: 'POST', path, body: b, label });
      };
      const p = chain.then(run, run);
      chain = p.catch(() => {});
      return p;
    }

    function showWarning(text) {
      if (!text) { warn.hidden = true; warn.replaceChildren(); return; }
      warn.hidden = false;
      warn.replaceChildren(h('div', { class: 'row' }, icon('alert', 'icon lg'), h('span', { class: 'grow' }, text)));
    }

    function setBin(code, locationId) {
      st.bin = code;
      if (st.binId !== (locationId || null) && guided) showExpected(null);   // never another bin's book list
      st.binId = locationId || null;
      bin.textContent = code;
      if (!recount) prompt.lastChild.textContent = t('stocktake_count.scan_items');
    }

    function showExpected(list) {
      if (!list) { expectedBox.replaceChildren(); return; }
      expectedBox.replaceChildren(h('div', { class: 'card' }, h('h3', {}, t('stocktake_count.expected_here', { code: st.bin || '' })),
        list.length ? h('ul', { class: 'list' }, list.map((x) => h('li', { class: 'row', style: { minHeight: '44px' },
          'data-testid': 'count-expected-row', 'data-sku': x.sku, 'data-state': x.scan_qty === x.expected ? 'done' : 'todo' },
        h('span', { class: 'grow' }, itemName(x, ctx.lang)),
        h('span', { class: 'num', 'data-testid': 'count-expected-qty' }, `${ctx.fmt.qty(x.scan_qty, x.unit)} / ${ctx.fmt.qty(x.expected, x.unit)}`))))
          : h('p', { class: 'muted' }, t('stocktake_count.expected_none'))));
    }

    // The book list of the bin on show, fetched again (at most every 250 ms) when anyone's scan or undo there
    // arrives live, and after my own: the list follows the count, not just the moment the bin was scanned.
    let refreshTimer = null;
    let refreshSeq = 0;
    function refreshExpected() {
      if (!guided || !st.binId) return;
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(async () => {
        const n = ++refreshSeq;
        const binId = st.binId;
        try {
          const out = await ctx.api.get(`/stocktake/sessions/${id}/expected`, { location_id: binId });
          if (n === refreshSeq && binId === st.binId && !ctx.signal.aborted) showExpected(out.items);
        } catch (err) {
          // offline or the count closed: the list stays as last shown; scans still queue
        }
      }, 250);
    }
    const onCountFact = (p) => { if (p.session_id === id && p.location_id === st.binId) refreshExpected(); };
    ctx.onLive('count.scan', onCountFact);
    ctx.onLive('count.undo', onCountFact);
    ctx.signal.addEventListener('abort', () => clearTimeout(refreshTimer));
    refreshExpected();

    function showZones(zones) {
      const me = ctx.user && ctx.user.id;
      const mine = zones.filter((z) => z.user_id === me).map((z) => z.location_code);
      zoneState.hidden = !mine.length;
      zoneState.textContent = mine.length ? t('stocktake_count.zones_done_mine', { list: mine.join(', ') }) : '';
    }

    async function zoneDone() {
      zoneBtn.disabled = true;
      try {
        const out = await ctx.api.post(`/stocktake/sessions/${id}/zones/done`, {});
        const code = (out.zones_done.find((z) => z.location_id === out.location_id) || {}).location_code || '';
        ctx.feedback.success();
        ctx.toast(t('stocktake_count.zone_marked', { code }), 'success');
        showZones(out.zones_done);
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(err.code === 'scan_location_first' ? t('stocktake_count.err_location_first') : errText(ctx, err), 'error');
      }
      zoneBtn.disabled = false;
    }

    function applyResult(n, r) {
      if (r.totals) st.totals = r.totals;
      scansStat.textContent = ctx.fmt.number(st.totals.scans);
      itemsStat.textContent = ctx.fmt.number(st.totals.items);
      const warnings = r.warnings || [];
      if (r.kind === 'location') {
        setBin(r.location.code, r.location.id);
        showExpected(r.expected_here);
      } else if (r.kind === 'item') {
        refreshExpected();
      }
      if (n >= st.shown) {
        st.shown = n;
        if (r.kind === 'item') {
          lastName.textContent = itemName(r.item, ctx.lang);
          setThumb(lastThumb, pictureSource(r.item));
          const exp = r.expected !== undefined && r.expected !== null ? ` / ${ctx.fmt.qty(r.expected, r.item.unit)}` : '';
          lastQty.textContent = `${ctx.fmt.qty(r.line_qty, r.item.unit)}${exp}`;
        } else if (r.kind === 'location') {
          lastName.textContent = t('stocktake_count.now_at', { code: r.location.code });
          setThumb(lastThumb, { none: true });
          lastQty.textContent = '';
        }
        last.dataset.seq = String(n);
        last.dataset.state = 'done';
      }
      if (warnings.includes('wrong_zone')) {
        ctx.feedback.warn();
        showWarning(t('stocktake_count.wrong_zone'));
      } else {
        ctx.feedback.success();
        showWarning(null);
      }
    }

    async function submit(code) {
      const n = ++st.seq;
      const body = { code };
      const q = parseInt(qty.value, 10);
      if (q > 0 && !code.startsWith('SHL-')) { body.qty = q; qty.value = ''; }
      if (recount) { body.recount = true; body.location_id = recount.location_id; }
      if (code.startsWith('SHL-') && !recount) setBin(code.slice(4).toUpperCase());
      lastName.textContent = code;
      lastQty.textContent = '…';
      setThumb(lastThumb, { none: true });
      last.dataset.state = 'sending';
      const out = await send(`/stocktake/sessions/${id}/scans`, body, t('stocktake_count.queue_label', { code }));
      if (out.state === 'done') {
        applyResult(n, out.result);
      } else if (out.state === 'queued') {
        st.queued += 1;
        queuedStat.textContent = String(st.queued);
        ctx.feedback.success();
        if (n >= st.shown) {
          st.shown = n;
          lastQty.textContent = t('stocktake_count.saved_offline');
          last.dataset.seq = String(n);
          last.dataset.state = 'queued';
        }
      } else {
        ctx.feedback.error();
        const e = out.error || {};
        const key = { scan_location_first: 'stocktake_count.err_location_first', item_out_of_scope: 'stocktake_count.err_out_of_scope',
          location_out_of_scope: 'stocktake_count.err_out_of_scope', weight_required: 'stocktake_count.err_weight',
          unknown_code: 'stocktake_count.err_unknown' }[e.code];
        showWarning(key ? t(key) : (e.message || t('core.err_generic')));
        if (n >= st.shown) {
          st.shown = n;
          lastQty.textContent = '✕';
          last.dataset.seq = String(n);
          last.dataset.state = 'failed';
        }
      }
    }

    async function doUndo() {
      const out = await send(`/stocktake/sessions/${id}/undo`, {}, t('stocktake_count.undo'));
      if (out.state === 'done') {
        st.totals = out.result.totals;
        scansStat.textContent = ctx.fmt.number(st.totals.scans);
        itemsStat.textContent = ctx.fmt.number(st.totals.items);
        lastName.textContent = t('stocktake_count.undone');
        setThumb(lastThumb, { none: true });
        lastQty.textContent = '';
        ctx.feedback.warn();
      } else if (out.state === 'queued') {
        ctx.toast(t('stocktake_count.saved_offline'), 'info');
      } else {
        ctx.feedback.error();
        ctx.toast(out.error && out.error.code === 'nothing_to_undo' ? t('stocktake_count.nothing_to_undo')
          : (out.error && out.error.message) || t('core.err_generic'), 'warn');
      }
    }

    async function finishRecount() {
      try {
        await ctx.api.post(`/stocktake/sessions/${id}/recounts/finish`, { item_id: recount.item_id, location_id: recount.location_id });
        ctx.feedback.success();
        ctx.toast(t('stocktake_count.recount_saved'), 'success');
        ctx.navigate('stocktake');
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
    }

    active = (code) => submit(code);
  },
  onScan(code) {
    if (!active) return false;
    active(code);
    return true;
  },
  onLeave() {
    active = null;
  },
};
