/**
 * Money in X12 is the R (decimal) type: an optional minus sign, digits and
 * an optional decimal point (X12.6 §3.3). We carry amounts as integer cents so
 * sums (CLM02 = Σ SV102, 835 balancing) are exact.
 */

/**
 * Parse an X12 R amount into cents. Returns `undefined` for an empty or
 * malformed value, or one with more than two decimals that are not zero.
 * @param value - e.g. `541.00`, `-9.00`, `127.8`, `0`
 */
export function toCents(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(value.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const fraction = (m[3] ?? '').padEnd(2, '0');
  if (/[1-9]/.test(fraction.slice(2))) return undefined;
  const cents = Number(m[2] || '0') * 100 + Number(fraction.slice(0, 2));
  return m[1] ? -cents : cents;
}

/**
 * Format cents as an X12 R value without superfluous zeros (`350000` → `3500`,
 * `1225` → `12.25`, `1250` → `12.5`), which keeps segments short as X12 prefers.
 * @param cents - integer amount in cents
 */
export function formatAmount(cents: number): string {
  if (!Number.isInteger(cents)) throw new RangeError('amount must be whole cents');
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100);
  const frac = String(abs % 100).padStart(2, '0').replace(/0+$/, '');
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}

/** Parse a decimal number given in currency units (JSON numbers or strings like `"3500.00"`) into cents. */
export function unitsToCents(value: number | string): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    return Math.round(value * 100);
  }
  return toCents(value);
}

/** Format an X12 quantity (R type): integers stay integers, `1.00` → `1`. */
export function formatQuantity(quantity: number): string {
  if (!Number.isFinite(quantity)) throw new RangeError('quantity must be finite');
  return String(Math.round(quantity * 1000) / 1000);
}
