import bcrypt from 'bcryptjs';
import type { ConfiguredUser, Role } from '../../config/schema';

// Compared against when the user name is unknown, so a login takes the same
// time whether or not the account exists.
const DUMMY_HASH = '$2b$12$0.CXnYkUWPOJZwnYYpp/lONClxc8iMU9L1vz2m/oGUuP9yK4.OwK6';

/** Users from configuration: the built-in admin plus HUB_USERS. Passwords only as bcrypt hashes. */
export class UserDirectory {
  private readonly users = new Map<string, ConfiguredUser>();

  constructor(users: ConfiguredUser[]) {
    for (const u of users) this.users.set(u.username, u);
  }

  get(username: string): { username: string; role: Role } | null {
    const u = this.users.get(username);
    return u ? { username: u.username, role: u.role } : null;
  }

  list(): { username: string; role: Role }[] {
    return [...this.users.values()].map((u) => ({ username: u.username, role: u.role }));
  }

  /** @returns the user when the password matches, else null */
  async verify(username: string, password: string): Promise<{ username: string; role: Role } | null> {
    const u = this.users.get(username);
    const ok = await bcrypt.compare(password, u?.passwordHash ?? DUMMY_HASH);
    return ok && u ? { username: u.username, role: u.role } : null;
  }
}
