// Finance: the manager's store day — its state (open → closing → closed → reconciled → locked), what still blocks
// the close, the settlement per tender and every difference (missing / extra payments, fees, cash over/short,
// card batches), and the buttons that move the day on, each behind a confirmation.

import { h, icon } from '../js/dom.js';

const NEXT = { open: 'close', closing: 'close', closed: 'reconcile', reconciled: 'lock' };

function errText(ctx, err) {
  if (err && err.offline) return ctx.t('core.err_offline');
  const key = `err.${err && err.code}`;
  const text = err && err.code ? ctx.t(key, err.details || {}) : '';
  return text && text !== key ? text : (err && err.message) || ctx.t('core.err_generic');
}

function confirmSheet(ctx, action, date, onYes) {
  const { t } = ctx;
  const dlg = h('dialog', { class: 'sheet', 'data-testid': 'finance-confirm', 'aria-labelledby': 'finance-confirm-title' });
  const yes = h('button', { class: 'btn primary big', type: 'button', 'data-testid': 'finance-confirm-yes' },
    icon('check'), t(`finance.do_${action}`));
  yes.addEventListener('click', async () => { yes.disabled = true; dlg.close(); await onYes(); });
  dlg.append(
    h('div', { class: 'sheet-head' }, h('h2', { id: 'finance-confirm-title' }, t(`finance.do_${action}`))),
    h('p', {}, t(`finance.confirm_${action}`, { date })),
    h('div', { class: 'row gap' },
      h('button', { class: 'btn big', type: 'button', onclick: () => dlg.close() }, t('common.cancel')), yes));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

function diffLine(ctx, d) {
  const { t, fmt } = ctx;
  const what = t(`finance.diff_${d.kind}`, { method: d.method ? t(`finance.method_${d.method}`) : '' });
  const parts = [];
  if (d.till_id) parts.push(d.till_id);
  if (d.cashier) parts.push(d.cashier);
  if (d.out_trade_no) parts.push(d.out_trade_no);
  if (d.fee_expected_minor !== undefined) {
    parts.push(t('finance.fee_vs', { expected: fmt.money(d.fee_expected_minor), statement: fmt.money(d.fee_statement_minor) }));
  }
  return h('li', { 'data-testid': 'finance-diff', 'data-kind': d.kind },
    h('div', { class: 'row between' }, h('strong', {}, what),
      d.difference_minor !== undefined ? h('span', { class: d.difference_minor < 0 ? 'error' : '' }, fmt.money(d.difference_minor)) : null),
    parts.length ? h('div', { class: 'sub' }, parts.join(' · ')) : null);
}

function tenderLine(ctx, tl) {
  const { t, fmt } = ctx;
  const cells = [[t('finance.expected'), tl.expected_minor], [t('finance.recorded'), tl.recorded_minor]];
  if (tl.counted_minor !== undefined) cells.push([t('finance.counted'), tl.counted_minor]);
  if (tl.batch_minor !== undefined && tl.batch_minor !== null) cells.push([t('finance.batch'), tl.batch_minor]);
  if (tl.statement_minor !== undefined && tl.statement_minor !== null) cells.push([t('finance.statement'), tl.statement_minor]);
  if (tl.fees_minor !== undefined) cells.push([t('finance.fees'), tl.fees_minor]);
  return h('li', { 'data-testid': 'finance-tender' },
    h('strong', {}, t(`finance.method_${tl.method}`)),
    h('div', { class: 'sub' }, cells.map(([k, v]) => `${k} ${fmt.money(v)}`).join(' · ')));
}

export default {
  id: 'finance',
  titleKey: 'finance.title',
  minRole: 'manager',
  icon: 'clipboard',
  order: 107,   // after the built-in tiles; unique per domain (its migration block)
  async render(ctx) {
    const { t } = ctx;
    const params = new URLSearchParams((location.hash.split('?')[1]) || '');
    const dateInput = h('input', { type: 'date', id: 'finance-date', class: 'field', 'data-testid': 'finance-date' });
    const head = h('div', { class: 'card stack' },
      h('label', { for: 'finance-date', class: 'label' }, t('finance.day')), dateInput);
    const body = h('div', { class: 'stack', 'data-testid': 'finance-day', 'aria-live': 'polite' });

    async function act(action, date) {
      try {
        await ctx.api.post(`/finance/days/${date}/${action}`, action === 'reconcile' ? {} : undefined);
        ctx.feedback.success();
        ctx.toast(t(`finance.done_${action}`, { date }), 'success');
      } catch (err) {
        ctx.feedback.error();
        ctx.toast(errText(ctx, err), 'error');
      }
      await load();
    }

    async function load() {
      const date = dateInput.value;
      if (!date) return;
      try {
        const day = await ctx.api.get(`/finance/days/${date}`);
        const s = day.settlement;
        const state = h('p', { class: 'big', 'data-testid': 'finance-state', 'data-state': day.state },
          t('finance.state_is', { state: t(`finance.state_${day.state}`) }));
        const action = NEXT[day.state];
        const button = action ? h('button', { class: 'btn primary big', type: 'button', 'data-testid': `finance-${action}` },
          icon('check'), t(`finance.do_${action}`)) : null;
        if (button) button.addEventListener('click', () => confirmSheet(ctx, action, date, () => act(action, date)));
        const blockers = day.blockers.length ? h('ul', { class: 'list', 'data-testid': 'finance-blockers' },
          day.blockers.map((b) => h('li', {}, t(`finance.blocker_${b.kind}`, { till: b.till_id || '' })))) : null;
        const tenders = s.tenders.length ? h('ul', { class: 'list' }, s.tenders.map((tl) => tenderLine(ctx, tl)))
          : h('p', { class: 'muted' }, t('finance.no_sales'));
        const diffs = s.differences.length
          ? h('ul', { class: 'list', 'data-testid': 'finance-diffs' }, s.differences.map((d) => diffLine(ctx, d)))
          : h('p', { class: 'muted', 'data-testid': 'finance-no-diffs' }, t('finance.no_differences'));
        body.replaceChildren(
          h('div', { class: 'card stack' }, state, blockers, button),
          h('div', { class: 'card stack' }, h('h2', {}, t('finance.settlement')), tenders),
          h('div', { class: 'card stack' }, h('h2', {}, t('finance.differences', { n: s.differences.length })), diffs));
      } catch (err) {
        body.replaceChildren(h('p', { class: 'empty error' }, errText(ctx, err)));
      }
    }

    dateInput.addEventListener('change', () => load());
    ctx.root.append(head, body);
    try {
      const days = await ctx.api.get('/finance/days');
      dateInput.value = params.get('date') || days.today;
    } catch (err) {
      body.replaceChildren(h('p', { class: 'empty error' }, errText(ctx, err)));
      return;
    }
    await load();
  },
};
