import type { Node } from 'node-red';

/** The one status vocabulary of STYLE.md §6. Text comes from catalog keys; never payload data. */
export type StatusKind = 'connecting' | 'connected' | 'processing' | 'error' | 'idle';

const SHAPES: Record<Exclude<StatusKind, 'idle'>, { fill: 'yellow' | 'green' | 'blue' | 'red'; shape: 'ring' | 'dot' }> = {
  connecting: { fill: 'yellow', shape: 'ring' },
  connected: { fill: 'green', shape: 'dot' },
  processing: { fill: 'blue', shape: 'dot' },
  error: { fill: 'red', shape: 'ring' },
};

export function setStatus(node: Node, kind: StatusKind, text = ''): void {
  if (kind === 'idle') {
    node.status({});
    return;
  }
  node.status({ ...SHAPES[kind], text });
}
