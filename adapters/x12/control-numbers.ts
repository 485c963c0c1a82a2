/**
 * Control numbers of the three X12 envelopes. Receivers detect duplicate
 * interchanges by ISA13 (and clearinghouses reject a reused one), so numbers
 * must be unique per sender and survive restarts: the production source is
 * SQLite-backed (`SqliteControlNumberSource`).
 */
export type ControlNumberKind = 'interchange' | 'group' | 'transaction';

/**
 * Largest value per kind: ISA13 is N0 9/9, GS06 N0 1/9, ST02 AN 4/9. After the
 * largest value the sequence wraps to 1; a billion interchanges is far beyond
 * any receiver's duplicate-detection window.
 */
export const CONTROL_NUMBER_MAX = 999_999_999;

export interface ControlNumberSource {
  /**
   * Reserve fresh numbers. A number is never handed out twice (until the
   * sequence wraps), even across processes sharing the same source.
   * @param kind - which envelope the numbers are for
   * @param count - how many (default 1)
   */
  next(kind: ControlNumberKind, count?: number): Promise<number[]>;
  /** Release the underlying resources; safe to call more than once. */
  close(): Promise<void>;
}

/** ISA13: exactly nine digits, zero-padded. */
export function formatInterchangeControlNumber(n: number): string {
  return String(n).padStart(9, '0');
}

/** GS06: one to nine digits, no padding. */
export function formatGroupControlNumber(n: number): string {
  return String(n);
}

/** ST02: four to nine characters, so pad to at least four digits. */
export function formatTransactionControlNumber(n: number): string {
  return String(n).padStart(4, '0');
}

/** Advance a sequence by `count` from `last`, wrapping after {@link CONTROL_NUMBER_MAX}. */
export function advance(last: number, count: number): number[] {
  const out: number[] = [];
  let n = last;
  for (let i = 0; i < count; i++) {
    n = n >= CONTROL_NUMBER_MAX ? 1 : n + 1;
    out.push(n);
  }
  return out;
}

/** Reference implementation and test double: unique within the process only. */
export class InMemoryControlNumberSource implements ControlNumberSource {
  private readonly last = new Map<ControlNumberKind, number>();

  /** @param start - last number already used per kind (default 0, so the first is 1) */
  constructor(start: Partial<Record<ControlNumberKind, number>> = {}) {
    for (const [k, v] of Object.entries(start)) this.last.set(k as ControlNumberKind, v);
  }

  async next(kind: ControlNumberKind, count = 1): Promise<number[]> {
    const numbers = advance(this.last.get(kind) ?? 0, count);
    this.last.set(kind, numbers[numbers.length - 1] ?? this.last.get(kind) ?? 0);
    return numbers;
  }

  async close(): Promise<void> {
    // nothing to release
  }
}
