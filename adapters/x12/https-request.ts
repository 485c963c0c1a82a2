import { request as httpsRequest } from 'node:https';
import type { SecureContextOptions } from 'node:tls';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  /** Private CA and client certificate: clearinghouse endpoints often use both (mutual TLS). */
  tls?: Pick<SecureContextOptions, 'ca' | 'cert' | 'key'>;
}

/** One HTTP exchange; injected so tests and other transports can replace node:https. */
export type HttpRequest = (url: URL, init: HttpRequestInit) => Promise<HttpResponse>;

/** Thrown by `nodeHttpsRequest` when no full answer arrived in time. */
export class HttpTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/**
 * node:https request. Global `fetch` cannot be given a private CA or a client
 * certificate per request, hence node:https. Only https: URLs are accepted:
 * claims must not travel in clear text.
 */
export const nodeHttpsRequest: HttpRequest = (url, init) =>
  new Promise<HttpResponse>((resolve, reject) => {
    if (url.protocol !== 'https:') {
      reject(new Error('only https: URLs are allowed'));
      return;
    }
    const req = httpsRequest(url, { method: init.method, headers: init.headers, ...init.tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.setTimeout(init.timeoutMs, () => req.destroy(new HttpTimeout(init.timeoutMs)));
    req.on('error', reject);
    req.end(init.body);
  });
