import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Node, NodeAPI } from 'node-red';
import type { PublicRouteRegistry } from '../../adapters/shared/public-routes';

/**
 * One signature-verifying webhook route on Node-RED's HTTP node app, shared
 * by emr-in, stripe-webhook, twilio-webhook and sendgrid-webhook.
 *
 * - The body is read raw (`express.raw`, any content type, 1 MB): signatures
 *   are computed over the exact bytes, which a JSON or form parser would
 *   lose. The route never relies on a parser mounted elsewhere.
 * - The path is registered in the hub's public-route registry, so the hub's
 *   token check (Node-RED's `httpNodeMiddleware`, applied here as the core
 *   `http in` node applies it) lets this exact path through: the signature is
 *   its authentication.
 * - `close()` removes the route from the router stack (as `http in` does)
 *   and unregisters the path, so a redeploy can serve it again.
 *
 * Candidate for nodes/shared/ once the billing and messaging nodes land.
 */

/** 1 MB: far above any provider's event batch, small enough to bound memory per request. */
export const MAX_WEBHOOK_BYTES = '1mb';

const PATH_PATTERN = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

export interface WebhookRequest {
  rawBody: Buffer;
  headers: Request['headers'];
  /** Path and query relative to the HTTP node root, as requested (`/twilio/status?x=1`). */
  url: string;
}

export interface WebhookAnswer {
  status: number;
  /** Objects are sent as JSON, strings as they are with `contentType`. */
  body?: unknown;
  contentType?: string;
  /** Runs after the answer went out: emit the msg here, never before the provider was answered. */
  after?: () => void;
}

export interface MountedWebhook {
  readonly path: string;
  close(): void;
}

export class WebhookPathError extends Error {}

/**
 * @param path - route path relative to the HTTP node root (no parameters, no wildcards)
 * @returns the normalized path
 * @throws WebhookPathError when the path cannot be served exactly
 */
export function webhookPath(path: string | undefined): string {
  const p = (path ?? '').trim();
  const normalized = p.startsWith('/') ? p : `/${p}`;
  if (!PATH_PATTERN.test(normalized)) throw new WebhookPathError('webhook path must be /segments of letters, digits, . _ ~ -');
  return normalized;
}

/**
 * Serve POST `path` with `handle`.
 * @param RED - the node API (httpNode, settings)
 * @param node - the owning node (its id owns the public route)
 * @param publicRoutes - the hub's registry; absent outside the hub (tests, bare Node-RED)
 * @param path - from webhookPath()
 * @param handle - verify, store, then say what to answer; must not throw for a bad request
 * @throws Error when another node already serves the path
 */
export function mountWebhook(
  RED: NodeAPI,
  node: Node,
  publicRoutes: PublicRouteRegistry | undefined,
  path: string,
  handle: (req: WebhookRequest) => Promise<WebhookAnswer>,
): MountedWebhook {
  publicRoutes?.register(path, node.id);
  const middleware = (RED.settings as { httpNodeMiddleware?: unknown }).httpNodeMiddleware;
  const auth: RequestHandler[] = typeof middleware === 'function' ? [middleware as RequestHandler] : Array.isArray(middleware) ? (middleware as RequestHandler[]) : [];
  // Every request, with any Content-Type or none (`'*/*'` would skip a request without one and leave nothing to verify).
  const raw = express.raw({ type: () => true, limit: MAX_WEBHOOK_BYTES });

  const callback = (req: Request, res: Response): void => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    handle({ rawBody, headers: req.headers, url: req.url })
      .catch((err: unknown): WebhookAnswer => {
        node.warn(`webhook handler failed: ${err instanceof Error ? err.name : typeof err}`);
        return { status: 500, body: { ok: false } };
      })
      .then((answer) => {
        res.status(answer.status);
        if (answer.body === undefined) res.end();
        else if (typeof answer.body === 'string') res.type(answer.contentType ?? 'text/plain').send(answer.body);
        else res.json(answer.body);
        answer.after?.();
      })
      .catch((err: unknown) => node.warn(`webhook answer failed: ${err instanceof Error ? err.name : typeof err}`));
  };
  // Body-parser errors (too large, aborted) answer without reaching the handler; nothing is believed or emitted.
  const onError = (err: { status?: number; statusCode?: number }, _req: Request, res: Response, _next: NextFunction): void => {
    res.status(err.status ?? err.statusCode ?? 400).end();
  };
  RED.httpNode.post(path, ...auth, raw, callback, onError);

  let closed = false;
  return {
    path,
    close(): void {
      if (closed) return;
      closed = true;
      const router = (RED.httpNode as unknown as { _router?: { stack: { route?: { path?: string; methods?: Record<string, boolean> } }[] } })._router;
      if (router) {
        // Walk backwards so splicing does not skip the next layer.
        for (let i = router.stack.length - 1; i >= 0; i--) {
          const route = router.stack[i]?.route;
          if (route && route.path === path && route.methods?.post) router.stack.splice(i, 1);
        }
      }
      publicRoutes?.unregister(path, node.id);
    },
  };
}
