import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FLOW_FILE = 'flows.json';

/**
 * On first start (no runtime flow file yet) the reference flows in `flowsDir`
 * become the runtime flows. Later deploys live in the data dir only, so a
 * redeploy of the hub never overwrites what analysts changed.
 * @returns the number of reference flow files merged, or 0 if flows existed
 */
export function seedFlows(flowsDir: string, userDir: string): number {
  mkdirSync(userDir, { recursive: true });
  const target = join(userDir, FLOW_FILE);
  if (existsSync(target)) return 0;
  const files = existsSync(flowsDir) ? readdirSync(flowsDir).filter((f) => f.endsWith('.json')).sort() : [];
  const nodes: unknown[] = [];
  const ids = new Set<string>();
  for (const f of files) {
    const parsed: unknown = JSON.parse(readFileSync(join(flowsDir, f), 'utf8'));
    if (!Array.isArray(parsed)) throw new Error(`reference flow ${f} is not a JSON array of nodes`);
    for (const n of parsed as { id?: string }[]) {
      if (!n.id || ids.has(n.id)) throw new Error(`reference flow ${f} has a missing or duplicate node id ${String(n.id)}`);
      ids.add(n.id);
      nodes.push(n);
    }
  }
  writeFileSync(target, JSON.stringify(nodes, null, 2));
  return files.length;
}
