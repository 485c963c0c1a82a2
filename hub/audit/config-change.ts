import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../../adapters/store';
import type { HubConfig } from '../../config/schema';

const STATE_FILE = 'config-fingerprint.json';

/**
 * Records a `config.change` audit entry when the configuration differs from
 * the previous start. Only key names go into the log; values are compared by
 * hash, so secrets never reach the audit table.
 */
export async function auditConfigChange(config: HubConfig, audit: AuditLog, actor = 'system'): Promise<string[]> {
  const file = join(config.dataDir, STATE_FILE);
  const now: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) now[k] = createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
  const before: Record<string, string> | null = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : null;
  const changed = before ? Object.keys(now).filter((k) => before[k] !== now[k]) : Object.keys(now);
  if (changed.length > 0) {
    await audit.append({ actor, action: before ? 'config.change' : 'config.initial', target: 'config', detail: { keys: changed } });
    writeFileSync(file, JSON.stringify(now), { mode: 0o600 });
  }
  return changed;
}
