import { useEffect, useRef, useState } from 'preact/hooks';
import type { MonitorMe, MonitorSnapshot } from '../protocol';
import { Alerts } from './alerts';
import { getJson, logout, Unauthorized } from './api';
import { DeadLetters } from './deadletters';
import { Detail } from './detail';
import { Login } from './login';
import { Messages } from './messages';
import { Overview } from './overview';

type Route = { page: 'overview' } | { page: 'alerts' } | { page: 'messages'; query: string } | { page: 'detail'; id: string } | { page: 'dead-letters'; queue: string };
type Live = 'connecting' | 'live' | 'stale' | 'offline';

function routeOf(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const detail = /^messages\/([\w-]+)$/.exec(h);
  if (detail) return { page: 'detail', id: detail[1]! };
  const dead = /^queues\/([^/]+)\/dead-letters$/.exec(h);
  if (dead) {
    try {
      return { page: 'dead-letters', queue: decodeURIComponent(dead[1]!) };
    } catch {
      return { page: 'overview' };
    }
  }
  if (h === 'alerts') return { page: 'alerts' };
  if (h === 'messages' || h.startsWith('messages?')) return { page: 'messages', query: h.slice('messages?'.length) };
  return { page: 'overview' };
}

const go = (hash: string): void => {
  location.hash = hash;
};

export function App() {
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  const [me, setMe] = useState<MonitorMe | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);
  const [snap, setSnap] = useState<MonitorSnapshot | null>(null);
  const [live, setLive] = useState<Live>('connecting');
  const [lastEventAt, setLastEventAt] = useState(0);
  const [now, setNow] = useState(Date.now());

  // Where "← Messages" goes: back to the list (with its page and filters) when we came from it.
  const previous = useRef<Route['page'] | null>(null);
  useEffect(() => {
    const onHash = (): void =>
      setRoute((old) => {
        previous.current = old.page;
        return routeOf(location.hash);
      });
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const loadMe = (): void => {
    getJson<MonitorMe>('/api/v1/monitor/me').then(setMe, (err: unknown) => {
      setMe(null);
      if (!(err instanceof Unauthorized)) setNotice(`The monitor API did not answer (${err instanceof Error ? err.message : String(err)}).`);
    });
  };
  useEffect(loadMe, []);

  // Live overview: one snapshot a second over server-sent events. EventSource
  // reconnects by itself; when it gives up (401), check whether we are still logged in.
  useEffect(() => {
    if (!me) return;
    let source: EventSource | null = null;
    let retry: number | undefined;
    let stopped = false;
    const open = (): void => {
      source = new EventSource('/api/v1/monitor/events');
      source.addEventListener('snapshot', (e) => {
        setSnap(JSON.parse((e as MessageEvent<string>).data) as MonitorSnapshot);
        setLastEventAt(Date.now());
        setLive('live');
      });
      source.addEventListener('logout', () => {
        source?.close();
        setNotice('Your session ended. Please sign in again.');
        setMe(null);
      });
      source.onerror = () => {
        setLive('connecting');
        if (source?.readyState !== EventSource.CLOSED || stopped) return;
        getJson<MonitorMe>('/api/v1/monitor/me').then(
          () => {
            if (!stopped) retry = window.setTimeout(open, 2000);
          },
          (err: unknown) => {
            if (err instanceof Unauthorized) {
              setNotice('Your session ended. Please sign in again.');
              setMe(null);
            } else if (!stopped) {
              setLive('offline');
              retry = window.setTimeout(open, 5000);
            }
          },
        );
      };
    };
    open();
    return () => {
      stopped = true;
      source?.close();
      window.clearTimeout(retry);
    };
  }, [me]);

  // The clock for "12 s ago" and the stale indicator.
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const liveState: Live = live === 'live' && now - lastEventAt > 5000 ? 'stale' : live;

  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null)
    return (
      <Login
        notice={notice}
        onLoggedIn={() => {
          setNotice(null);
          setSnap(null);
          loadMe();
        }}
      />
    );

  const signOut = async (): Promise<void> => {
    await logout();
    setSnap(null);
    setMe(null);
  };

  return (
    <div class="shell">
      <header>
        <span class="brand">IVF Interface Hub</span>
        <nav>
          <a href="#/" class={route.page === 'overview' || route.page === 'dead-letters' ? 'on' : ''}>
            Overview
          </a>
          <a href="#/messages" class={route.page === 'messages' || route.page === 'detail' ? 'on' : ''}>
            Messages
          </a>
          <a href="#/alerts" class={route.page === 'alerts' ? 'on' : ''}>
            Alerts
          </a>
        </nav>
        <span class={`live ${liveState}`} data-testid="live" data-state={liveState} title={snap ? `snapshot ${snap.seq} at ${snap.at}` : ''}>
          {liveState === 'live' ? 'live' : liveState === 'stale' ? 'no updates' : liveState === 'offline' ? 'offline' : 'connecting'}
        </span>
        <span class="who" data-testid="who">
          {me.username} · {me.role}
        </span>
        <button type="button" onClick={() => void signOut()} data-testid="logout">
          Sign out
        </button>
      </header>
      <main>
        {route.page === 'overview' && <Overview snap={snap} now={now} onEndpoint={(name) => go(`#/messages?endpoint=${encodeURIComponent(name)}`)} />}
        {route.page === 'messages' && <Messages me={me} query={route.query} endpoints={snap?.endpoints.map((e) => e.name) ?? []} onOpen={(id) => go(`#/messages/${id}`)} />}
        {route.page === 'alerts' && <Alerts now={now} />}
        {route.page === 'dead-letters' && <DeadLetters queue={route.queue} />}
        {route.page === 'detail' && <Detail id={route.id} me={me} onBack={() => (previous.current === 'messages' ? history.back() : go('#/messages'))} />}
      </main>
    </div>
  );
}
