import { Router } from 'express';

export type ReadinessCheck = { name: string; check: () => Promise<void> };

const CHECK_TIMEOUT_MS = 2000;

/**
 * `/healthz`: the process answers (liveness). `/readyz`: the store and every
 * configured broker answer within 2 s, and the hub is not shutting down.
 * Both are unauthenticated by design (orchestrators and HEALTHCHECK) and say
 * nothing beyond check names and states.
 */
export function healthRouter(checks: () => ReadinessCheck[], isStopping: () => boolean): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    if (isStopping()) {
      res.status(503).json({ status: 'stopping', checks: {} });
      return;
    }
    const results: Record<string, string> = {};
    await Promise.all(
      checks().map(async (c) => {
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          results[c.name] = 'ok';
        } catch {
          results[c.name] = 'failing';
        }
      }),
    );
    const ok = Object.values(results).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not-ready', checks: results });
  });
  return r;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}
