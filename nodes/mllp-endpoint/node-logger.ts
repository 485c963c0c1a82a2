import type { Node } from 'node-red';
import type { Logger, LogMeta } from '../../adapters/shared/logger';

/**
 * An adapter Logger that writes through the node, so adapter lines carry the
 * node's id and type and follow Node-RED's log level. Adapters only put
 * PHI-free metadata in `meta` (STYLE.md §8); it is appended as JSON.
 *
 * @param node - the node whose log methods to use
 */
export function nodeLogger(node: Node): Logger {
  const line = (message: string, meta?: LogMeta): string => (meta && Object.keys(meta).length > 0 ? `${message} ${JSON.stringify(meta)}` : message);
  return {
    debug: (message, meta) => node.debug(line(message, meta)),
    info: (message, meta) => node.log(line(message, meta)),
    warn: (message, meta) => node.warn(line(message, meta)),
    error: (message, meta) => node.error(line(message, meta)),
  };
}
