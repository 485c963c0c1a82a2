import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Only same-origin scripts, styles and connections; no inline script or style
 * elements, no framing. uPlot and Preact set styles through the CSSOM
 * (element.style), which style-src does not restrict.
 */
export const MONITOR_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function monitorSecurityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': MONITOR_CSP,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  next();
}

/** `<install>/dist/monitor`, found from this file whether it runs compiled (dist/hub/monitor) or from source (jest). */
export function defaultAssetsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'monitor');
    dir = dirname(dir);
  }
  return join(__dirname, '..', '..', 'monitor');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IVF Interface Hub · Monitor</title></head>
<body><h1>IVF Interface Hub · Monitor</h1><p>The monitor UI is not built. Run <code>npm run build</code>.</p></body></html>`;

/**
 * The bundled UI: index.html for /monitor and /monitor/, hashed app-*.js and
 * app-*.css cached for good. The files are public; every data call behind
 * them is authenticated.
 */
export function staticAssets(assetsDir: string): Router {
  const r = Router();
  const indexFile = join(assetsDir, 'index.html');
  r.get(['/monitor', '/monitor/'], (_req, res) => {
    if (!existsSync(indexFile)) {
      // A page that says what is wrong beats a bare error; /readyz is what orchestration watches.
      res.type('html').set('Cache-Control', 'no-cache').send(NOT_BUILT);
      return;
    }
    // Read per request: a rebuild while the hub runs is picked up, and the file is small.
    res.type('html').set('Cache-Control', 'no-cache').send(readFileSync(indexFile));
  });
  r.use(
    '/monitor',
    express.static(assetsDir, {
      index: false,
      redirect: false,
      fallthrough: true,
      setHeaders: (res, path) => {
        res.setHeader('Cache-Control', /[.-][A-Z0-9]{8}\.(js|css)$/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  return r;
}
