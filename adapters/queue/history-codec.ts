import type { HistoryEntry } from './types';

/**
 * History as stored next to a message (SQLite column, AMQP header, SQS
 * attribute): JSON with epoch-ms times. Unknown or damaged entries are
 * dropped rather than failing the delivery: history is diagnostic.
 */
export function historyToJson(history: readonly HistoryEntry[]): string {
  return JSON.stringify(history.map((h) => ({ ...h, at: h.at.getTime() })));
}

export function historyFromJson(text: string | null | undefined): HistoryEntry[] {
  if (!text) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  const out: HistoryEntry[] = [];
  for (const r of raw as Record<string, unknown>[]) {
    if (!r || typeof r !== 'object' || typeof r.at !== 'number') continue;
    const at = new Date(r.at);
    if (r.event === 'failed') {
      out.push({
        event: 'failed',
        at,
        attempt: Number(r.attempt) || 0,
        code: String(r.code ?? 'UNKNOWN'),
        retryable: r.retryable === true,
        error: String(r.error ?? 'Error'),
        message: typeof r.message === 'string' ? r.message : null,
      });
    } else if (r.event === 'replayed') {
      out.push({ event: 'replayed', at, edited: r.edited === true, by: typeof r.by === 'string' ? r.by : null });
    }
  }
  return out;
}

export function headersToJson(headers: Record<string, string>): string | null {
  return Object.keys(headers).length === 0 ? null : JSON.stringify(headers);
}

export function headersFromJson(text: string | null | undefined): Record<string, string> {
  if (!text) return {};
  try {
    const raw = JSON.parse(text) as unknown;
    if (!raw || typeof raw !== 'object') return {};
    return Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  } catch {
    return {};
  }
}
