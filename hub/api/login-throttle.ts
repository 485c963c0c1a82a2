const WINDOW_MS = 60_000;
const MAX_FAILURES = 5;

/** Refuses logins for a user name from an address after 5 failures in a minute (password guessing). */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  blocked(username: string, ip: string): boolean {
    return this.recent(`${username}|${ip}`).length >= MAX_FAILURES;
  }

  fail(username: string, ip: string): void {
    const key = `${username}|${ip}`;
    this.failures.set(key, [...this.recent(key), this.now()]);
  }

  succeed(username: string, ip: string): void {
    this.failures.delete(`${username}|${ip}`);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - WINDOW_MS;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }
}
