import type { HealthRegistry } from '../../adapters/shared/health-registry';

/**
 * A listener's readiness check (/readyz), registered while the listener is
 * in use: failing until it listens and whenever it cannot (port taken, bad
 * settings), so a hub that cannot take traffic on a configured port is
 * never reported ready.
 */
export class ListenerReadiness {
  private registry: HealthRegistry | undefined;

  /**
   * @param name - the check's name in /readyz, e.g. `mllp-listener:hl7-intake`
   * @param label - how errors name the listener, e.g. `MLLP listener`
   * @param failure - the error code while the listener cannot run, else undefined
   * @param listening - whether it is listening now
   */
  constructor(
    private readonly name: string,
    private readonly label: string,
    private readonly failure: () => string | undefined,
    private readonly listening: () => boolean,
  ) {}

  watch(registry: HealthRegistry): void {
    this.registry = registry;
    registry.register(this.name, async () => {
      const code = this.failure();
      if (code) throw new Error(`${this.label} ${this.name} failed (${code})`);
      if (!this.listening()) throw new Error(`${this.label} ${this.name} is not listening`);
    });
  }

  unwatch(): void {
    this.registry?.unregister(this.name);
    this.registry = undefined;
  }
}
