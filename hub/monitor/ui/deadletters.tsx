import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api';
import { time } from './format';

/** One dead letter as `GET /api/v1/dead-letters` lists it: identifiers, counts and error codes, never the body. */
interface DeadLetterItem {
  id: string;
  queue: string;
  attempts: number;
  deadAt: string;
  reason: string;
  lastError: { code: string; retryable: boolean } | null;
}

const LIMIT = 100;

/**
 * A queue's dead letters, newest page first. Each one is the hub message of
 * the same id, so a row opens the message detail, where operators replay it
 * (optionally with a corrected body) or discard it, giving a reason.
 */
export function DeadLetters({ queue }: { queue: string }) {
  const [items, setItems] = useState<DeadLetterItem[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    setError(null);
    getJson<{ items: DeadLetterItem[]; nextCursor: string | null }>(`/api/v1/dead-letters?queue=${encodeURIComponent(queue)}&limit=${LIMIT}`).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setMore(page.nextCursor !== null);
      },
      (err: unknown) => live && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [queue, reload]);

  return (
    <section class="panel" data-testid="dead-letters" data-queue={queue}>
      <h2>
        Dead letters of {queue}{' '}
        <small>
          {items ? `${items.length}${more ? '+' : ''} · open one to replay or discard it` : ''}{' '}
          <button type="button" class="link" onClick={() => setReload((n) => n + 1)}>
            Refresh
          </button>
        </small>
      </h2>
      {error && <p class="error">{error}</p>}
      {!items ? (
        !error && <p class="loading">Loading…</p>
      ) : items.length === 0 ? (
        <p class="empty">No dead letters.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Message</th>
              <th>Dead since</th>
              <th>Why</th>
              <th>Last error</th>
              <th class="n">Attempts</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-testid="dead-letter-row" data-id={d.id}>
                <td class="mono">
                  <a href={`#/messages/${encodeURIComponent(d.id)}`}>{d.id}</a>
                </td>
                <td class="mono nowrap">{time(d.deadAt)}</td>
                <td>{d.reason}</td>
                <td>{d.lastError ? <span class="pill bad">{d.lastError.code}</span> : '–'}</td>
                <td class="n">{d.attempts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
