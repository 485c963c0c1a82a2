import { useEffect, useState } from 'preact/hooks';
import type { AlertRuleStatus, AlertsView } from '../../../adapters/alerts/types';
import { getJson } from './api';
import { ago, time } from './format';

const POLL_MS = 5000;

function stateClass(state: AlertRuleStatus['state']): string {
  return state === 'firing' ? 'bad' : state === 'ok' ? 'ok' : 'muted';
}

/** Alert rules (firing ones first, in red) and the fired/recovered history, refreshed every few seconds. */
export function Alerts({ now }: { now: number }) {
  const [view, setView] = useState<AlertsView | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const load = (): void => {
      getJson<AlertsView>('/api/v1/monitor/alerts?limit=200').then(
        (v) => {
          if (stopped) return;
          setView(v);
          setError(null);
        },
        (err: unknown) => !stopped && setError(err instanceof Error ? err.message : String(err)),
      );
    };
    load();
    const t = window.setInterval(load, POLL_MS);
    return () => {
      stopped = true;
      window.clearInterval(t);
    };
  }, []);

  if (!view) return error ? <p class="error">{error}</p> : <p class="loading">Loading alerts…</p>;
  const rules = [...view.rules].sort((a, b) => Number(b.state === 'firing') - Number(a.state === 'firing'));
  const firing = rules.filter((r) => r.state === 'firing').length;

  return (
    <div class="alerts" data-testid="alerts">
      {error && <p class="error">{error}</p>}
      <section class="panel">
        <h2>
          Alert rules{' '}
          <small>
            {view.enabled ? `${firing} firing of ${rules.length} · evaluated every ${view.intervalSeconds ?? '?'} s` : 'none configured (HUB_ALERT_RULES)'}
          </small>
        </h2>
        {rules.length > 0 && (
          <table class="alert-rules">
            <thead>
              <tr>
                <th>State</th>
                <th>Rule</th>
                <th>Condition</th>
                <th>Now</th>
                <th>Since</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.name} class={r.state === 'firing' ? 'firing' : ''} data-testid="alert-rule" data-state={r.state}>
                  <td>
                    <span class={`pill ${stateClass(r.state)}`}>{r.state}</span>
                  </td>
                  <td class="nowrap">
                    <strong>{r.name}</strong>
                    <div class="sub">{r.type}</div>
                  </td>
                  <td>{r.condition}</td>
                  <td>
                    {r.text ?? '–'}
                    {r.error === 'STANDBY' ? (
                      <div class="sub">evaluated by another hub process (it shares what this rule measures)</div>
                    ) : (
                      r.error && <div class="sub">could not measure: {r.error}</div>
                    )}
                  </td>
                  <td class="nowrap" title={r.since ?? ''}>
                    {r.since ? ago(r.since, now) : '–'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section class="panel">
        <h2>
          History <small>fired and recovered, newest first (also in the audit log)</small>
        </h2>
        {view.history.length === 0 ? (
          <p class="empty">No alerts yet.</p>
        ) : (
          <ul class="timeline alert-history">
            {view.history.map((h, i) => (
              <li key={`${h.at}-${i}`} class={h.kind} data-testid="alert-history" data-kind={h.kind}>
                <span class="mono">{time(h.at)}</span>
                <span>
                  <span class={`pill ${h.kind === 'fired' ? 'bad' : 'ok'}`}>{h.kind}</span> <strong>{h.rule}</strong> {h.text ?? ''}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
