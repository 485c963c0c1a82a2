import { Client } from 'pg';

/**
 * "Is this hub process the one that does X?", answered by a PostgreSQL
 * session-level advisory lock on a connection of its own: whichever process
 * holds the lock leads, and when it dies (or its connection does) the server
 * drops the lock and the next process to ask takes over. The database the
 * processes already share is the arbiter; there is no membership protocol.
 */
export class PgAdvisoryLeadership {
  private client: Client | null = null;
  private held = false;
  private closed = false;

  /**
   * @param url - the shared PostgreSQL database (the store's HUB_STORE_URL)
   * @param role - what is led, e.g. `alerts`
   * @param scope - what the processes share beyond the database (the store's schema), so separate hubs on one database do not block each other
   */
  constructor(
    private readonly url: string,
    private readonly role: string,
    private readonly scope = 'public',
  ) {}

  /** Leads now: holds the lock, taking it when free. False on any database failure (a leader that cannot reach the database must not act alone). */
  async isLeader(): Promise<boolean> {
    if (this.closed) return false;
    try {
      if (!this.client) {
        const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
        // A dropped connection loses the lock on the server: the next question starts over.
        client.on('error', () => this.drop(client));
        client.on('end', () => this.drop(client));
        await client.connect();
        this.client = client;
      }
      if (this.held) {
        await this.client.query('SELECT 1');
        return true;
      }
      const res = await this.client.query('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', [this.role, this.scope]);
      this.held = (res.rows[0] as { ok: boolean }).ok === true;
      return this.held;
    } catch {
      if (this.client) this.drop(this.client);
      return false;
    }
  }

  /** Gives up the lead (ends the connection, which releases the lock). */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    if (client) {
      this.drop(client);
      await client.end().catch(() => undefined);
    }
  }

  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.held = false;
    void client.end().catch(() => undefined);
  }
}
