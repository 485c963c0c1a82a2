/** A measurement value as the hub carries it. */
export type LabValue =
  /** A number, possibly censored: `< 0.05` is `{ comparator: '<', value: 0.05 }`. */
  | { type: 'quantity'; value: number; comparator?: '<' | '<=' | '>' | '>='; text: string }
  /** Text (`NEGATIVE`, `B Pos`, `-----`). */
  | { type: 'text'; text: string }
  /** Nothing sent. */
  | { type: 'absent'; text: '' };

const NUMBER_POINT = /^(<=|>=|<|>)?\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))$/;
const NUMBER_COMMA = /^(<=|>=|<|>)?\s*([+-]?(?:\d+(?:,\d*)?|,\d+))$/;

/**
 * Read R.4. Censored results keep their comparator (`< 1.20` from ARCHITECT,
 * `> 15000`, EUROIMMUN `>8`); a trailing point (`173.`, IMMULITE) is a number.
 *
 * @param raw - decoded R.4 text
 * @param decimalComma - the instrument writes `7,41` for 7.41
 */
export function parseValue(raw: string | undefined, decimalComma = false): LabValue {
  const text = (raw ?? '').trim();
  if (text === '') return { type: 'absent', text: '' };
  const m = (decimalComma ? NUMBER_COMMA : NUMBER_POINT).exec(text);
  if (!m) return { type: 'text', text };
  const value = Number(m[2]!.replace(',', '.'));
  if (!Number.isFinite(value)) return { type: 'text', text };
  const comparator = m[1] as '<' | '<=' | '>' | '>=' | undefined;
  return comparator ? { type: 'quantity', value, comparator, text } : { type: 'quantity', value, text };
}

/** A dilution as sent (`1:15`, `UNDILUTED`, `15`) with its factor when one can be read. */
export interface Dilution {
  text: string;
  factor?: number;
}

/**
 * @param raw - the instrument's dilution text
 * @returns undefined when nothing was sent
 */
export function parseDilution(raw: string | undefined): Dilution | undefined {
  const text = (raw ?? '').trim();
  if (text === '') return undefined;
  if (/^undiluted$/i.test(text)) return { text, factor: 1 };
  const ratio = /^1\s*:\s*(\d+(?:\.\d+)?)$/.exec(text);
  if (ratio) return { text, factor: Number(ratio[1]) };
  const plain = /^(\d+(?:\.\d+)?)$/.exec(text);
  if (plain && Number(plain[1]) > 0) return { text, factor: Number(plain[1]) };
  return { text };
}

export interface ReferenceRange {
  text: string;
  low?: number;
  high?: number;
}

/**
 * R.6 as text, with limits when the form is a plain `low TO high`,
 * `low-high`, `<high` or `>low`. Instrument-specific forms (IMMULITE
 * `12\12^2000\2000`) stay text only.
 *
 * @param raw - decoded R.6 text
 */
export function parseReferenceRange(raw: string | undefined): ReferenceRange | undefined {
  const text = (raw ?? '').trim();
  if (text === '') return undefined;
  const num = '(\\d+(?:\\.\\d+)?|\\.\\d+)';
  const between = new RegExp(`^${num}\\s*(?:-|TO|to)\\s*${num}$`).exec(text);
  if (between) return { text, low: Number(between[1]), high: Number(between[2]) };
  const below = new RegExp(`^<=?\\s*${num}$`).exec(text);
  if (below) return { text, high: Number(below[1]) };
  const above = new RegExp(`^>=?\\s*${num}$`).exec(text);
  if (above) return { text, low: Number(above[1]) };
  return { text };
}
