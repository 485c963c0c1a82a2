import { Router } from 'express';

/**
 * `/monitor`: placeholder until the monitoring dashboard lands. The page is
 * static; everything it shows comes from the authenticated `/api/v1`.
 */
export function monitorRouter(): Router {
  const r = Router();
  r.get(['/monitor', '/monitor/'], (_req, res) => {
    res
      .type('html')
      .set('Content-Security-Policy', "default-src 'self'; style-src 'unsafe-inline'")
      .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IVF Interface Hub · Monitor</title>
<style>body{font:15px system-ui,sans-serif;margin:3rem;color:#1f2933}code{background:#eef2f6;padding:.1rem .3rem}</style></head>
<body><h1>IVF Interface Hub · Monitor</h1>
<p>The monitoring dashboard is not built yet. Until then:</p>
<ul><li>messages: <code>GET /api/v1/messages</code></li><li>audit log: <code>GET /api/v1/audit</code></li>
<li>health: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a></li><li>metrics: <code>GET /metrics</code></li><li>flows: <a href="/">the editor</a></li></ul>
</body></html>`);
  });
  return r;
}
