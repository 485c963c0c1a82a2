import type { AuditLog } from '../../adapters/store';
import type { Logger } from '../../adapters/shared/logger';

// Editor socket churn and reads are not administrative acts; everything else
// (logins, deploys, node changes, permission failures) is. `auth.invalid-token`
// fires for every hub API token (Node-RED's own token store is asked first),
// so it is noise here; real token failures end in `permission.fail` or a 401.
const IGNORED = /^comms\.|\.get$|^auth\.invalid-token$/;

const EVENT_NAMES: Record<string, string> = {
  'flows.set': 'flows.deploy',
};

interface NodeRedAuditMsg {
  level: number;
  event?: string;
  user?: { username?: string } | string;
  username?: string;
  ip?: string;
  path?: string;
  type?: string;
  error?: string;
}

/**
 * A Node-RED logging handler with `audit: true`: Node-RED emits an audit
 * record for every admin action (level 98), and we copy it into the hub's
 * audit log with who, what and when. No message content passes through here.
 */
export function nodeRedAuditHandler(audit: AuditLog, logger: Logger): (msg: NodeRedAuditMsg) => void {
  return (msg) => {
    if (msg.level !== 98 || !msg.event || IGNORED.test(msg.event)) return;
    const actor = (typeof msg.user === 'object' ? msg.user?.username : msg.user) ?? msg.username ?? 'anonymous';
    const detail: Record<string, unknown> = {};
    if (msg.path) detail.path = msg.path;
    if (msg.type) detail.type = msg.type;
    if (msg.error) detail.error = msg.error;
    if (msg.username && msg.username !== actor) detail.username = msg.username;
    audit
      .append({ actor, action: EVENT_NAMES[msg.event] ?? msg.event, target: 'node-red', detail, ip: msg.ip ?? null })
      .catch(() => logger.error('could not write audit entry', { action: msg.event }));
  };
}
