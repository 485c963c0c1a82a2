/** Calls to the hub. The session lives in an HttpOnly cookie; this code never keeps a token. */

export class Unauthorized extends Error {
  constructor() {
    super('not logged in');
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let body: { error?: string; code?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON
  }
  return new ApiError(res.status, body.error ?? `HTTP ${res.status}`, body.code);
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) throw new Unauthorized();
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status === 401) throw new Unauthorized();
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

/** Password login, then hand the session token to the hub to keep as an HttpOnly cookie. */
export async function login(username: string, password: string): Promise<void> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status === 401) throw new ApiError(401, 'Wrong user name or password.');
  if (res.status === 429) throw new ApiError(429, 'Too many failed logins. Wait a minute and try again.');
  if (!res.ok) throw await errorOf(res);
  let token: string | null = ((await res.json()) as { token: string }).token;
  const session = await fetch('/monitor/session', { method: 'POST', credentials: 'same-origin', headers: { authorization: `Bearer ${token}` } });
  token = null;
  if (session.status !== 204) throw await errorOf(session);
}

export async function logout(): Promise<void> {
  await fetch('/monitor/session', { method: 'DELETE', credentials: 'same-origin' });
}
