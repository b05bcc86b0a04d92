// Locale-aware formatting: money from minor units in the store currency, quantities, times.

export function makeFormat(getLang, getStore) {
  const locale = () => (getLang() === 'zh-CN' ? 'zh-CN' : 'en-GB');
  return {
    money(minor) {
      const store = getStore() || {};
      const exp = Number.isInteger(store.currency_exponent) ? store.currency_exponent : 2;
      const value = Number(minor) / 10 ** exp;
      try {
        return new Intl.NumberFormat(locale(), {
          style: 'currency', currency: store.currency || 'CNY',
          minimumFractionDigits: exp, maximumFractionDigits: exp,
        }).format(value);
      } catch {
        return `${value.toFixed(exp)} ${store.currency || ''}`.trim();
      }
    },
    number(n) {
      return new Intl.NumberFormat(locale()).format(n);
    },
    /** Stock quantity: kg items are stored in grams. */
    qty(n, unit) {
      if (unit === 'kg') {
        return `${new Intl.NumberFormat(locale(), { minimumFractionDigits: 3, maximumFractionDigits: 3 }).format(n / 1000)} kg`;
      }
      return new Intl.NumberFormat(locale()).format(n);
    },
    time(iso) {
      if (!iso) return '';
      const d = new Date(iso);
      const sameDay = d.toDateString() === new Date().toDateString();
      const opts = sameDay ? { hour: '2-digit', minute: '2-digit' }
        : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
      return new Intl.DateTimeFormat(locale(), opts).format(d);
    },
  };
}
