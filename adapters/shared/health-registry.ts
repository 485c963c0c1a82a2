/**
 * Readiness checks contributed at run time: the store registers itself, and
 * broker config nodes register while they are deployed. `/readyz` runs them all.
 */
export class HealthRegistry {
  private readonly checks = new Map<string, () => Promise<void>>();

  register(name: string, check: () => Promise<void>): void {
    this.checks.set(name, check);
  }

  unregister(name: string): void {
    this.checks.delete(name);
  }

  list(): { name: string; check: () => Promise<void> }[] {
    return [...this.checks].map(([name, check]) => ({ name, check }));
  }
}
