import type { LogMeta } from '../shared/logger';
import type { ParsedX12 } from './parse-x12';

/**
 * Log-safe facts about an X12 interchange: kind, control number, counts and
 * byte length (STYLE.md §8). Never a name, member ID, date or amount.
 */
export function summarizeX12(parsed: ParsedX12, bytes?: number): LogMeta {
  const base: LogMeta = { type: parsed.kind, controlId: parsed.interchangeControlNumber, bytes, warnings: parsed.warnings.length };
  switch (parsed.kind) {
    case '835':
      return { ...base, remittances: parsed.remittances.length, claims: parsed.remittances.reduce((n, r) => n + r.claims.length, 0) };
    case 'ack':
      return { ...base, ta1: parsed.acknowledgment.interchanges.length, groups: parsed.acknowledgment.groups.length };
    case '837P':
      return { ...base, claims: parsed.claims.length, issues: parsed.issues.length };
  }
}
