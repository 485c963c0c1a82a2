/**
 * Unit strings labs send, as UCUM codes (http://unitsofmeasure.org). LIS and
 * analyzer units are written for people (`mIU/mL`); UCUM puts arbitrary
 * units in brackets (`m[IU]/mL`) and writes powers of ten as `10*6`. Keys
 * are compared case-sensitively except where UCUM itself is ambiguous-free
 * (`ML` for mL is common in upper-case-only systems).
 */
const UNITS: Record<string, string> = {
  'pg/mL': 'pg/mL',
  'pg/ml': 'pg/mL',
  'ng/mL': 'ng/mL',
  'ng/ml': 'ng/mL',
  'ng/dL': 'ng/dL',
  'ug/dL': 'ug/dL',
  'µg/dL': 'ug/dL',
  'mg/dL': 'mg/dL',
  'pmol/L': 'pmol/L',
  'pmol/l': 'pmol/L',
  'nmol/L': 'nmol/L',
  'nmol/l': 'nmol/L',
  'mIU/mL': 'm[IU]/mL',
  'mIU/ml': 'm[IU]/mL',
  'MIU/ML': 'm[IU]/mL',
  'm[IU]/mL': 'm[IU]/mL',
  'mU/mL': 'm[U]/mL',
  'IU/L': '[IU]/L',
  'IU/l': '[IU]/L',
  '[IU]/L': '[IU]/L',
  'U/L': 'U/L',
  'uIU/mL': 'u[IU]/mL',
  'µIU/mL': 'u[IU]/mL',
  'mIU/L': 'm[IU]/L',
  'm[IU]/L': 'm[IU]/L',
  '%': '%',
  mL: 'mL',
  ml: 'mL',
  ML: 'mL',
  '10^6/mL': '10*6/mL',
  '10*6/mL': '10*6/mL',
  'M/mL': '10*6/mL',
  '10^6': '10*6',
  '10*6': '10*6',
  '[pH]': '[pH]',
  pH: '[pH]',
};

/**
 * @param unit - a unit as the lab sent it
 * @returns its UCUM code, or undefined when the table does not know it
 */
export function toUcum(unit: string): string | undefined {
  const u = unit.trim();
  return Object.prototype.hasOwnProperty.call(UNITS, u) ? UNITS[u] : undefined;
}
