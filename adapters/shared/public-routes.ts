/**
 * Paths under the flows' HTTP root that skip the hub's token check because
 * the node serving them authenticates each request itself (a provider's
 * webhook signature, an EMR's HMAC). Only nodes that verify signatures may
 * register here; a plain `http in` never does, so it always needs a token.
 */
export class PublicRouteRegistry {
  private readonly paths = new Map<string, string>();

  /** @param path - route path relative to the HTTP node root, e.g. `/webhooks/stripe` */
  register(path: string, ownerNodeId: string): void {
    const owner = this.paths.get(path);
    if (owner && owner !== ownerNodeId) throw new Error(`public route ${path} is already served by node ${owner}`);
    this.paths.set(path, ownerNodeId);
  }

  unregister(path: string, ownerNodeId: string): void {
    if (this.paths.get(path) === ownerNodeId) this.paths.delete(path);
  }

  has(path: string): boolean {
    return this.paths.has(path);
  }
}
