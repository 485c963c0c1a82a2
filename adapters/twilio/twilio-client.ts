import twilio from 'twilio';
import { ProviderConfigError } from '../phi-guard/errors';

export interface TwilioClientOptions {
  /** `AC…` */
  accountSid: string;
  /** The account's auth token; or use an API key pair below. */
  authToken?: string;
  /** `SK…` API key and its secret: revocable, the better choice for a hub. */
  apiKeySid?: string;
  apiKeySecret?: string;
  /**
   * Send every REST call to this origin instead of `https://*.twilio.com`,
   * keeping path and query: an egress gateway in production, a loopback fake
   * in tests. twilio-node has no such option (`edge`/`region` only rewrite
   * the host name within twilio.com), so it is done in the HTTP client.
   */
  apiBaseUrl?: string;
  /** Per-request timeout; default 20 s. */
  timeoutMs?: number;
}

type RequestOptions = twilio.RequestClient extends { request(opts: infer O): unknown } ? O : never;
type RequestResult = ReturnType<twilio.RequestClient['request']>;

/**
 * twilio-node's own RequestClient (axios, auth header, form encoding,
 * response handling: all unchanged) with the origin of each URL replaced.
 */
export class BaseUrlRequestClient {
  private readonly origin: URL;
  private readonly inner: twilio.RequestClient;

  /**
   * @param baseUrl - origin to send to, e.g. `http://127.0.0.1:4010`
   * @param options - twilio RequestClient options (timeout, keepAlive)
   */
  constructor(baseUrl: string, options: ConstructorParameters<typeof twilio.RequestClient>[0] = {}) {
    this.origin = new URL(baseUrl);
    this.inner = new twilio.RequestClient(options);
  }

  /** @param opts - the request twilio-node built */
  request(opts: RequestOptions): RequestResult {
    const target = new URL(opts.uri);
    target.protocol = this.origin.protocol;
    target.host = this.origin.host;
    return this.inner.request({ ...opts, uri: target.href });
  }
}

/**
 * The production Twilio client, without the SDK's own 429 retries (the queue
 * owns retries).
 * @param options - account, credentials, optional base URL and timeout
 */
export function createTwilioClient(options: TwilioClientOptions): twilio.Twilio {
  if (!/^AC[0-9a-fA-F]{32}$/.test(options.accountSid)) throw new ProviderConfigError('Twilio account SID must be AC followed by 32 hex digits');
  const timeout = options.timeoutMs ?? 20_000;
  const httpClient = options.apiBaseUrl ? new BaseUrlRequestClient(options.apiBaseUrl, { timeout, autoRetry: false }) : undefined;
  const clientOptions = { accountSid: options.accountSid, timeout, autoRetry: false, ...(httpClient ? { httpClient: httpClient as unknown as twilio.RequestClient } : {}) };
  if (options.apiKeySid && options.apiKeySecret) return twilio(options.apiKeySid, options.apiKeySecret, clientOptions);
  if (options.authToken) return twilio(options.accountSid, options.authToken, clientOptions);
  throw new ProviderConfigError('Twilio needs an auth token or an API key and secret');
}
