import type { Role } from '../../config/schema';

/** Who is making a request: a logged-in user's session or a machine client's API token. */
export interface Principal {
  username: string;
  role: Role;
  tokenId: string;
  kind: 'api' | 'session';
}
