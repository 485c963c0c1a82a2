import type { Role } from '../../config/schema';

/**
 * What each role may do. Node-RED's admin API gets the coarse form: admin and
 * analyst have "*" (edit and deploy flows), operator and viewer "read".
 */
export const PERMISSIONS = [
  'flows.read',
  'flows.write',
  'messages.read',
  'messages.body',
  'messages.replay',
  'audit.read',
  'tokens.manage',
  'users.read',
  'metrics.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  admin: PERMISSIONS,
  analyst: ['flows.read', 'flows.write', 'messages.read', 'messages.body', 'metrics.read'],
  operator: ['flows.read', 'messages.read', 'messages.body', 'messages.replay', 'metrics.read'],
  viewer: ['flows.read', 'messages.read', 'metrics.read'],
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

export function nodeRedPermissions(role: Role): string | string[] {
  return can(role, 'flows.write') ? '*' : 'read';
}
