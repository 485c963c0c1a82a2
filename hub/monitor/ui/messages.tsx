import { useEffect, useState } from 'preact/hooks';
import type { MessageSummary, MonitorMe } from '../protocol';
import { getJson, postJson } from './api';
import { ReasonDialog } from './dialog';
import { bytes, statusClass, time } from './format';

const STATUSES = ['received', 'processing', 'sent', 'queued', 'filtered', 'error'];
const PAGE_SIZE = 50;

export interface Filters {
  controlId: string;
  patientId: string;
  type: string;
  status: string;
  endpoint: string;
  direction: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { controlId: '', patientId: '', type: '', status: '', endpoint: '', direction: '', from: '', to: '' };

/** The filters a URL may carry. The patient id never goes into the URL (browser history), only into the request. */
const URL_KEYS: (keyof Filters)[] = ['controlId', 'type', 'status', 'endpoint', 'direction', 'from', 'to'];

export function filtersFromQuery(q: URLSearchParams): Filters {
  const f = { ...EMPTY };
  for (const k of URL_KEYS) f[k] = q.get(k) ?? '';
  return f;
}

function queryOf(f: Filters): string {
  const q = new URLSearchParams();
  for (const k of URL_KEYS) if (f[k]) q.set(k, f[k]);
  return q.toString();
}

function apiParams(f: Filters): URLSearchParams {
  const q = new URLSearchParams();
  const put = (k: string, v: string): void => {
    if (v.trim()) q.set(k, v.trim());
  };
  put('controlId', f.controlId);
  put('patientId', f.patientId);
  put('type', f.type);
  put('status', f.status);
  put('endpoint', f.endpoint);
  put('direction', f.direction);
  // datetime-local is local time without a zone; the API wants ISO 8601.
  if (f.from) q.set('from', new Date(f.from).toISOString());
  if (f.to) q.set('to', new Date(f.to).toISOString());
  return q;
}

interface Page {
  items: MessageSummary[];
  nextCursor: string | null;
}

/** Kept across visits to a detail page, so "back" shows the same page (the patient id included, in memory only). */
let remembered: { query: string; filters: Filters; cursors: (string | null)[]; page: Page | null } | null = null;

export function Messages({ me, query, endpoints, onOpen }: { me: MonitorMe; query: string; endpoints: string[]; onOpen: (id: string) => void }) {
  const restored = remembered && remembered.query === query ? remembered : null;
  const [form, setForm] = useState<Filters>(restored?.filters ?? filtersFromQuery(new URLSearchParams(query)));
  const [active, setActive] = useState<Filters>(restored?.filters ?? filtersFromQuery(new URLSearchParams(query)));
  const [cursors, setCursors] = useState<(string | null)[]>(restored?.cursors ?? [null]);
  const [page, setPage] = useState<Page | null>(restored?.page ?? null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [tookMs, setTookMs] = useState<number | null>(null);
  const [bulk, setBulk] = useState<({ count: number; limit: number | null; kind: 'replay' | 'reprocess' }) | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const run = async (f: Filters, stack: (string | null)[]): Promise<void> => {
    setBusy(true);
    setError(null);
    const q = apiParams(f);
    q.set('limit', String(PAGE_SIZE));
    const cursor = stack[stack.length - 1];
    if (cursor) q.set('cursor', cursor);
    const started = performance.now();
    try {
      const result = await getJson<Page>(`/api/v1/messages?${q.toString()}`);
      setTookMs(Math.round(performance.now() - started));
      setPage(result);
      setCursors(stack);
      remembered = { query: queryOf(f), filters: f, cursors: stack, page: result };
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (!restored) void run(active, [null]);
    // Only on mount and when the URL's filters change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query]);

  const submit = (e: Event): void => {
    e.preventDefault();
    setActive(form);
    const q = queryOf(form);
    // Update the address without a hashchange (which would remount this page).
    history.replaceState(null, '', `#/messages${q ? `?${q}` : ''}`);
    void run(form, [null]);
  };

  const set = (k: keyof Filters) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const pageNo = cursors.length;
  const hasFilter = Object.entries(active).some(([, v]) => v.trim() !== '');

  const askBulk = async (kind: 'replay' | 'reprocess'): Promise<void> => {
    setNotice(null);
    try {
      const r = await postJson<{ count: number; limit: number | null }>(`/api/v1/monitor/${kind}`, { filter: Object.fromEntries(apiParams(active)), dryRun: true });
      setBulk({ ...r, kind });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <div class="messages">
      <form class="filters panel" onSubmit={submit} data-testid="search-form">
        <label>
          Control ID
          <input name="controlId" value={form.controlId} onInput={set('controlId')} placeholder="MSH-10" />
        </label>
        <label>
          Patient ID
          <input name="patientId" value={form.patientId} onInput={set('patientId')} placeholder="MRN (matched by hash)" autoComplete="off" />
        </label>
        <label>
          Type
          <input name="type" value={form.type} onInput={set('type')} placeholder="ORU^R01" />
        </label>
        <label>
          Status
          <select name="status" value={form.status} onChange={set('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Endpoint
          <input name="endpoint" value={form.endpoint} onInput={set('endpoint')} list="endpoint-names" placeholder="any" />
          <datalist id="endpoint-names">
            {endpoints.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <label>
          Direction
          <select name="direction" value={form.direction} onChange={set('direction')}>
            <option value="">any</option>
            <option value="inbound">inbound</option>
            <option value="outbound">outbound</option>
          </select>
        </label>
        <label>
          From
          <input name="from" type="datetime-local" step="1" value={form.from} onInput={set('from')} />
        </label>
        <label>
          To
          <input name="to" type="datetime-local" step="1" value={form.to} onInput={set('to')} />
        </label>
        <div class="filter-actions">
          <button type="submit" class="primary" disabled={busy}>
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setForm(EMPTY);
            }}
          >
            Clear
          </button>
          {me.canOperate && (
            <button
              type="button"
              disabled={!me.features.bulkReplay || !hasFilter}
              title={!me.features.bulkReplay ? 'Requires the queue (not configured yet)' : !hasFilter ? 'Search with a filter first' : 'Replay every message matching this search'}
              onClick={() => void askBulk('replay')}
            >
              Replay matching…
            </button>
          )}
          {me.canOperate && (
            <button type="button" disabled={!hasFilter} title={!hasFilter ? 'Search with a filter first' : 'Run every inbound message matching this search through its flow again'} onClick={() => void askBulk('reprocess')}>
              Reprocess matching…
            </button>
          )}
        </div>
      </form>

      {me.canOperate && !me.features.bulkReplay && <p class="note">Replay and discard require the queue, which is not configured yet.</p>}
      {notice && <p class="notice">{notice}</p>}
      {error && <p class="error">{error}</p>}

      <section class="panel">
        <div class="results-head">
          <span data-testid="result-count">
            {page ? `${page.items.length}${page.nextCursor ? '+' : ''} messages · page ${pageNo}` : busy ? 'Searching…' : ''}
          </span>
          {tookMs !== null && <span class="muted"> · {tookMs} ms</span>}
          <span class="pager">
            <button type="button" disabled={busy || pageNo <= 1} onClick={() => void run(active, cursors.slice(0, -1))}>
              ← Newer
            </button>
            <button type="button" disabled={busy || !page?.nextCursor} onClick={() => page?.nextCursor && void run(active, [...cursors, page.nextCursor])}>
              Older →
            </button>
          </span>
        </div>
        <table class="results">
          <thead>
            <tr>
              <th>Received</th>
              <th>Endpoint</th>
              <th>Dir</th>
              <th>Type</th>
              <th>Control ID</th>
              <th>Status</th>
              <th class="n">Attempts</th>
              <th class="n">Size</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((m) => (
              <tr key={m.id} class="clickable" data-testid="message-row" data-id={m.id} onClick={() => onOpen(m.id)}>
                <td class="mono nowrap">{time(m.receivedAt)}</td>
                <td>{m.endpoint}</td>
                <td>{m.direction === 'inbound' ? 'in' : 'out'}</td>
                <td>{m.messageType ?? '–'}</td>
                <td class="mono">
                  <a href={`#/messages/${m.id}`} onClick={(e) => e.stopPropagation()}>
                    {m.controlId ?? <span class="muted">…{m.id.slice(-8)}</span>}
                  </a>
                </td>
                <td>
                  <span class={`pill ${statusClass(m.status)}`}>{m.status}</span>
                </td>
                <td class="n">{m.attempts}</td>
                <td class="n">{bytes(m.size)}</td>
                <td class="muted">{m.errorCode ?? ''}</td>
              </tr>
            ))}
            {page && page.items.length === 0 && (
              <tr>
                <td colSpan={9} class="empty">
                  No messages match.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </section>

      {bulk && bulk.kind === 'reprocess' && (
        <ReasonDialog
          title="Reprocess matching messages"
          message={
            bulk.limit !== null && bulk.count > bulk.limit
              ? `${bulk.count} inbound messages match; at most ${bulk.limit} are reprocessed at a time. Narrow the search.`
              : `${bulk.count} inbound message${bulk.count === 1 ? '' : 's'} match this search and will run through their flows again. Nothing is sent to their senders.`
          }
          confirmLabel={`Reprocess ${bulk.count}`}
          onClose={() => setBulk(null)}
          onSubmit={async (reason) => {
            const r = await postJson<{ reprocessed: number; refused: number }>('/api/v1/monitor/reprocess', { filter: Object.fromEntries(apiParams(active)), reason });
            setNotice(`${r.reprocessed} messages reprocessed${r.refused > 0 ? `; ${r.refused} could not be (their receiving node is not running, or refused)` : ''}.`);
          }}
        />
      )}
      {bulk && bulk.kind === 'replay' && (
        <ReasonDialog
          title="Replay matching messages"
          message={
            bulk.limit !== null && bulk.count > bulk.limit
              ? `${bulk.count} messages match; at most ${bulk.limit} can be replayed at a time. Narrow the search.`
              : `${bulk.count} message${bulk.count === 1 ? '' : 's'} match this search and will be sent again.`
          }
          confirmLabel={`Replay ${bulk.count}`}
          onClose={() => setBulk(null)}
          onSubmit={async (reason) => {
            const r = await postJson<{ replayed: number }>('/api/v1/monitor/replay', { filter: Object.fromEntries(apiParams(active)), reason });
            setNotice(`${r.replayed} messages replayed.`);
          }}
        />
      )}
    </div>
  );
}
