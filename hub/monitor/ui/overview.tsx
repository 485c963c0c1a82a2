import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import type { Counters, EndpointSnapshot, MonitorSnapshot, QueueSnapshot } from '../protocol';
import { Chart, Sparkline } from './chart';
import { ago, duration, num, rate, stateClass } from './format';

const THROUGHPUT: Omit<uPlot.Options, 'width' | 'height'> = {
  scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil((max ?? 0) * 1.2))] } },
  axes: [{ stroke: '#52606d' }, { stroke: '#52606d', size: 44 }],
  series: [
    {},
    { label: 'Inbound', stroke: '#2f7dd1', fill: 'rgba(47,125,209,0.12)', width: 1.5, points: { show: false } },
    { label: 'Outbound', stroke: '#7a5cc7', width: 1.5, points: { show: false } },
    { label: 'Errors', stroke: '#d64545', fill: 'rgba(214,69,69,0.15)', width: 1.5, points: { show: false } },
  ],
};

const LATENCY: Omit<uPlot.Options, 'width' | 'height'> = {
  scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, Math.ceil((max ?? 0) * 1.25))] } },
  axes: [{ stroke: '#52606d' }, { stroke: '#52606d', size: 52, values: (_u, ticks) => ticks.map((t) => duration(t)) }],
  series: [
    {},
    { label: 'p50 to sent', stroke: '#3f9c5a', width: 1.5, spanGaps: false, points: { show: true, size: 4 }, value: (_u, v) => (v === null ? '–' : duration(v)) },
    { label: 'p95 to sent', stroke: '#d98c1f', width: 1.5, spanGaps: false, points: { show: true, size: 4 }, value: (_u, v) => (v === null ? '–' : duration(v)) },
    { label: 'ACK p95', stroke: '#7a5cc7', width: 1.5, dash: [4, 3], spanGaps: false, points: { show: true, size: 4 }, value: (_u, v) => (v === null ? '–' : duration(v)) },
  ],
};

export function Overview({ snap, now, onEndpoint }: { snap: MonitorSnapshot | null; now: number; onEndpoint: (name: string) => void }) {
  const charts = useMemo(() => {
    if (!snap) return null;
    const s = snap.series;
    const xs = s.received.map((_v, i) => (s.start + i * s.bucketMs) / 1000);
    const throughput: uPlot.AlignedData = [xs, s.inbound, s.outbound, s.errored];
    const latency: uPlot.AlignedData = [xs, s.latencyP50Ms, s.latencyP95Ms, s.ackP95Ms];
    return { throughput, latency };
  }, [snap]);

  if (!snap || !charts) return <p class="loading">Waiting for the first snapshot…</p>;
  const t = snap.totals;
  const byFlow = snap.flows.filter((f) => f.endpoints.length > 0);
  const loose = snap.endpoints.filter((e) => e.flows.length === 0);
  const byName = new Map(snap.endpoints.map((e) => [e.name, e]));

  return (
    <div class="overview" data-testid="overview" data-seq={snap.seq}>
      <section class="tiles" aria-label="Last hour">
        <Tile label="Received" testId="total-received" value={t.lastHour.received} perMin={t.perMinute.received} />
        <Tile label="In flight" testId="total-inflight" value={t.lastHour.inFlight} perMin={t.perMinute.inFlight} tone={t.lastHour.inFlight > 0 ? 'busy' : undefined} />
        <Tile label="Sent" testId="total-sent" value={t.lastHour.sent} perMin={t.perMinute.sent} tone="ok" />
        <Tile label="Queued" testId="total-queued" value={t.lastHour.queued} perMin={t.perMinute.queued} tone={t.lastHour.queued > 0 ? 'info' : undefined} />
        <Tile label="Filtered" testId="total-filtered" value={t.lastHour.filtered} perMin={t.perMinute.filtered} />
        <Tile label="Errors" testId="total-errored" value={t.lastHour.errored} perMin={t.perMinute.errored} tone={t.lastHour.errored > 0 ? 'bad' : 'ok'} />
        <div class={`tile ${snap.store.up ? '' : 'bad'}`}>
          <div class="tile-label">Store</div>
          <div class="tile-value small">{snap.store.up ? snap.store.backend : 'unreachable'}</div>
          <div class="tile-rate">{snap.store.pendingWrites !== null ? `${snap.store.pendingWrites} pending writes` : ''}</div>
        </div>
      </section>

      <section class="charts">
        <div class="panel">
          <h2>Throughput <small>messages per 10 s, last hour</small></h2>
          <Chart options={THROUGHPUT} data={charts.throughput} height={170} testId="chart-throughput" />
        </div>
        <div class="panel">
          <h2>Latency <small>receipt to sent (store), ACK (metrics)</small></h2>
          <Chart options={LATENCY} data={charts.latency} height={170} testId="chart-latency" />
        </div>
      </section>

      {snap.queues !== null && <Queues queues={snap.queues} />}

      <section class="panel">
        <h2>
          Flows and endpoints <small>counts over the last hour · rates over 5 min · counts as of {snap.countsAt ? ago(snap.countsAt, now) : '…'}</small>
        </h2>
        <table class="endpoints">
          <thead>
            <tr>
              <th>State</th>
              <th>Endpoint</th>
              <th>Peers</th>
              <th>Last message</th>
              <th class="n">Received</th>
              <th class="n">In flight</th>
              <th class="n">Sent</th>
              <th class="n">Queued</th>
              <th class="n">Filtered</th>
              <th class="n">Errors</th>
              <th>Last hour</th>
              <th>Types</th>
            </tr>
          </thead>
          {byFlow.map((f) => (
            <tbody key={f.id}>
              <tr class="flow-row">
                <th colSpan={12}>
                  {f.label} {f.disabled && <span class="pill muted">disabled</span>}
                </th>
              </tr>
              {f.endpoints.map((n) => {
                const e = byName.get(n);
                return e ? <EndpointRow key={n} e={e} now={now} onOpen={onEndpoint} /> : null;
              })}
            </tbody>
          ))}
          {loose.length > 0 && (
            <tbody>
              <tr class="flow-row">
                <th colSpan={12}>{byFlow.length > 0 ? 'Other endpoints' : 'Endpoints'}</th>
              </tr>
              {loose.map((e) => (
                <EndpointRow key={e.name} e={e} now={now} onOpen={onEndpoint} />
              ))}
            </tbody>
          )}
          {snap.endpoints.length === 0 && (
            <tbody>
              <tr>
                <td colSpan={12} class="empty">
                  No endpoints yet: deploy a flow with a listener or a store record node.
                </td>
              </tr>
            </tbody>
          )}
        </table>
      </section>
    </div>
  );
}

function Tile({ label, value, perMin, tone, testId }: { label: string; value: number; perMin: number; tone?: string; testId: string }) {
  return (
    <div class={`tile ${tone ?? ''}`}>
      <div class="tile-label">{label}</div>
      <div class="tile-value" data-testid={testId}>
        {num(value)}
      </div>
      <div class="tile-rate">{rate(perMin)}</div>
    </div>
  );
}

function Count({ c, k, testId, tone }: { c: { lastHour: Counters; perMinute: Counters }; k: keyof Counters; testId?: string; tone?: string }) {
  const v = c.lastHour[k];
  return (
    <td class={`n ${v > 0 && tone ? tone : ''}`}>
      <span data-testid={testId}>{num(v)}</span>
      {c.perMinute[k] > 0 && <div class="sub">{rate(c.perMinute[k])}</div>}
    </td>
  );
}

function EndpointRow({ e, now, onOpen }: { e: EndpointSnapshot; now: number; onOpen: (name: string) => void }) {
  const quietFor = e.lastMessageAt ? now - new Date(e.lastMessageAt).getTime() : null;
  return (
    <tr data-testid="endpoint-row" data-endpoint={e.name}>
      <td>
        <span class={`pill ${stateClass(e.state)}`} data-testid="ep-state">
          {e.state}
        </span>
      </td>
      <td>
        <button type="button" class="link" title="Show this endpoint's messages" onClick={() => onOpen(e.name)}>
          {e.name}
        </button>
        <div class="sub">
          {e.direction ?? ''} {e.kind !== 'store' ? `· ${e.kind}` : ''} {e.detail ? `· ${e.detail}` : ''}
        </div>
      </td>
      <td>
        {e.connections === null ? (
          <span class="muted">–</span>
        ) : (
          <span title={e.peers.map((p) => `${p.address}${p.port !== null ? `:${p.port}` : ''}`).join('\n') || 'no open connections'} data-testid="ep-connections">
            {e.connections} {e.connections === 1 ? 'peer' : 'peers'}
          </span>
        )}
        {e.pending !== null && e.pending > 0 && <div class="sub">{e.pending} waiting</div>}
      </td>
      <td class={quietFor !== null && quietFor < 60_000 ? 'fresh' : ''} data-testid="ep-last">
        {ago(e.lastMessageAt, now)}
      </td>
      <Count c={e} k="received" testId="ep-received" />
      <Count c={e} k="inFlight" tone="busy" />
      <Count c={e} k="sent" tone="ok" />
      <Count c={e} k="queued" tone="info" />
      <Count c={e} k="filtered" />
      <Count c={e} k="errored" testId="ep-errored" tone="bad" />
      <td>
        <Sparkline values={e.spark} color={e.lastHour.errored > 0 ? '#d64545' : '#2f7dd1'} />
      </td>
      <td class="types">
        {e.types.slice(0, 4).map((t) => (
          <span key={t} class="chip">
            {t}
          </span>
        ))}
      </td>
    </tr>
  );
}

function Queues({ queues }: { queues: QueueSnapshot[] }) {
  return (
    <section class="panel">
      <h2>Queues</h2>
      {queues.length === 0 ? (
        <p class="empty">No queues reported.</p>
      ) : (
        <table class="queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Backend</th>
              <th class="n">Ready</th>
              <th class="n">Delayed</th>
              <th class="n">In flight</th>
              <th class="n">Dead letters</th>
              <th class="n">Oldest waiting</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => (
              <tr key={q.queue} data-testid="queue-row" data-queue={q.queue}>
                <td>
                  {q.queue}{' '}
                  {q.waitingFor && q.waitingFor.length > 0 && (
                    <span class="pill warn" data-testid="queue-waiting" title={`set ${q.waitingFor.join(', ')} and restart the hub`}>
                      waiting for configuration
                    </span>
                  )}
                </td>
                <td>{q.backend}</td>
                <td class="n">{num(q.ready)}</td>
                <td class="n">{num(q.delayed)}</td>
                <td class="n">{num(q.inFlight)}</td>
                <td class={`n ${q.dead > 0 ? 'bad' : ''}`}>
                  {q.dead > 0 ? (
                    <a href={`#/queues/${encodeURIComponent(q.queue)}/dead-letters`} data-testid="queue-dead" title="list the dead letters">
                      {num(q.dead)}
                    </a>
                  ) : (
                    <span data-testid="queue-dead">{num(q.dead)}</span>
                  )}
                </td>
                <td class={`n ${(q.oldestWaitingAgeMs ?? 0) > 300_000 ? 'warn' : ''}`}>{duration(q.oldestWaitingAgeMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
