import type { EndpointState, PeerInfo } from './protocol';
import type { ConfiguredEndpoint, ConfiguredFlow, EndpointSource } from './types';

/** The part of Node-RED's runtime node registry (`RED.nodes` of the embedded runtime) the monitor reads. */
export interface NodeRedNodesApi {
  /** Calls back with every deployed node's configuration (tabs and config nodes included). */
  eachNode(cb: (def: Record<string, unknown>) => void): void;
  /** The running node instance, or null. */
  getNode(id: string): unknown;
}

type Def = Record<string, unknown>;

/**
 * Lists flows and endpoints from the deployed configuration, and asks the
 * running config nodes for their connection state. The config nodes are read
 * by duck typing (`connectionCount()`, `peers()`, `boundPort()`, `sender.state`)
 * so a new listener type shows up without a change here.
 *
 * @param nodes - returns `RED.nodes`; a function because the runtime is created after the router
 */
export function nodeRedEndpointSource(nodes: () => NodeRedNodesApi | undefined): EndpointSource {
  return {
    list() {
      const api = nodes();
      if (!api) return { flows: [], endpoints: [] };
      const defs: Def[] = [];
      api.eachNode((d) => defs.push(d));
      return describe(defs, (id) => api.getNode(id));
    },
  };
}

/** Exported for tests: the pure part. */
export function describe(defs: Def[], getNode: (id: string) => unknown): { flows: ConfiguredFlow[]; endpoints: ConfiguredEndpoint[] } {
  const flows = new Map<string, ConfiguredFlow>();
  const byId = new Map<string, Def>();
  for (const d of defs) {
    const id = str(d.id);
    if (!id) continue;
    byId.set(id, d);
    if (d.type === 'tab') flows.set(id, { id, label: str(d.label) || id, disabled: d.disabled === true });
  }

  const endpoints = new Map<string, ConfiguredEndpoint>();
  const configEndpoint = new Map<string, string>(); // config node id -> endpoint name
  const add = (e: ConfiguredEndpoint): void => {
    const old = endpoints.get(e.name);
    if (!old) {
      endpoints.set(e.name, e);
      return;
    }
    // The connection-holding config node wins; flows and directions merge.
    const keep = old.connections === null && e.connections !== null ? e : old;
    const other = keep === old ? e : old;
    keep.flowIds = [...new Set([...keep.flowIds, ...other.flowIds])];
    if (keep.direction !== other.direction && other.direction) keep.direction = keep.direction ? 'both' : other.direction;
    endpoints.set(e.name, keep);
  };

  for (const d of defs) {
    const id = str(d.id);
    if (!id || d.d === true) continue;
    const e = fromConfigNode(d, getNode(id));
    if (e) {
      configEndpoint.set(id, e.name);
      add(e);
    }
  }

  const tabsWithHttpIn = new Map<string, string[]>();
  for (const d of defs) {
    if (d.type === 'http in' && typeof d.z === 'string' && d.d !== true) {
      const list = tabsWithHttpIn.get(d.z) ?? [];
      list.push(`${str(d.method).toUpperCase() || 'GET'} ${str(d.url)}`);
      tabsWithHttpIn.set(d.z, list);
    }
  }

  for (const d of defs) {
    const z = typeof d.z === 'string' ? d.z : null;
    if (!z || d.d === true) continue;
    // A flow node that points at a config node (mllp-in → listener, mllp-out → endpoint) puts it in this flow.
    for (const v of Object.values(d)) {
      if (typeof v !== 'string') continue;
      const name = configEndpoint.get(v);
      const e = name ? endpoints.get(name) : undefined;
      if (e && !e.flowIds.includes(z)) e.flowIds.push(z);
    }
    if (d.type === 'store-record') {
      const name = expandEnv(str(d.endpoint)) || str(d.name) || str(d.id);
      const disabled = flows.get(z)?.disabled === true;
      const http = tabsWithHttpIn.get(z);
      add({
        name,
        kind: 'store-record',
        direction: d.direction === 'outbound' ? 'outbound' : 'inbound',
        state: disabled ? 'stopped' : http ? 'listening' : 'idle',
        detail: disabled ? 'flow disabled' : http ? `HTTP ${http.join(', ')}` : null,
        port: null,
        connections: null,
        peers: [],
        pending: null,
        flowIds: [z],
      });
    }
  }
  return { flows: [...flows.values()], endpoints: [...endpoints.values()] };
}

interface ConnectionHolder {
  connectionCount?: () => number;
  peers?: () => { remoteAddress?: string; remotePort?: number; connectedAt?: Date }[];
  boundPort?: () => number | undefined;
  storeName?: string;
  instrumentId?: string;
  sender?: { state?: { state?: string; connected?: number; connections?: number; errorCode?: string }; pending?: number };
}

function fromConfigNode(d: Def, instance: unknown): ConfiguredEndpoint | null {
  const inst = (instance ?? null) as ConnectionHolder | null;
  const base = { flowIds: [] as string[], pending: null as number | null };
  switch (d.type) {
    case 'mllp-listener': {
      const port = inst ? call(inst, 'boundPort') : undefined;
      const name = expandEnv(str(d.endpoint)) || str(d.name) || `mllp-${port ?? expandEnv(str(d.port))}`;
      return {
        ...base,
        name,
        kind: 'mllp-listener',
        direction: 'inbound',
        state: !inst ? 'stopped' : port !== undefined ? 'listening' : 'connecting',
        detail: port !== undefined ? `MLLP :${port}${d.tls ? ' (TLS)' : ''}` : inst ? 'starting' : 'not in use',
        port: port ?? null,
        connections: inst ? (call(inst, 'connectionCount') ?? 0) : 0,
        peers: peersOf(inst),
      };
    }
    case 'astm-instrument': {
      const name = expandEnv(str(d.instrumentId)) || inst?.instrumentId || str(d.name) || str(d.id);
      const port = inst ? call(inst, 'boundPort') : undefined;
      const connections = inst ? (call(inst, 'connectionCount') ?? 0) : 0;
      const server = d.mode !== 'client';
      let state: EndpointState = 'stopped';
      if (inst) state = server ? (port !== undefined ? 'listening' : 'connecting') : connections > 0 ? 'connected' : 'connecting';
      return {
        ...base,
        name,
        kind: 'astm-instrument',
        direction: 'both',
        state,
        detail: server ? (port !== undefined ? `ASTM :${port}` : null) : `ASTM → ${expandEnv(str(d.host))}:${expandEnv(str(d.port))}`,
        port: port ?? null,
        connections,
        peers: peersOf(inst),
      };
    }
    case 'mllp-endpoint': {
      const name = inst?.storeName || str(d.name) || `${expandEnv(str(d.host))}:${expandEnv(str(d.port))}`;
      const pool = inst?.sender?.state;
      let state: EndpointState = inst ? 'idle' : 'stopped';
      if (pool?.state === 'connected') state = 'connected';
      else if (pool?.state === 'connecting' || pool?.state === 'reconnecting') state = 'connecting';
      else if (pool?.state === 'disconnected') state = pool.errorCode ? 'error' : 'disconnected';
      return {
        ...base,
        name,
        kind: 'mllp-endpoint',
        direction: 'outbound',
        state,
        detail: pool?.errorCode ?? `MLLP → ${expandEnv(str(d.host))}:${expandEnv(str(d.port))}`,
        port: null,
        connections: pool?.connected ?? 0,
        peers: [],
        pending: typeof inst?.sender?.pending === 'number' ? inst.sender.pending : null,
      };
    }
    default: {
      if (d.z !== undefined || !inst || typeof inst.connectionCount !== 'function') return null;
      const name = str(d.endpoint) || str(d.name) || str(d.id);
      const connections = call(inst, 'connectionCount') ?? 0;
      const port = call(inst, 'boundPort');
      return {
        ...base,
        name,
        kind: str(d.type),
        direction: null,
        state: port !== undefined ? 'listening' : connections > 0 ? 'connected' : 'idle',
        detail: port !== undefined ? `:${port}` : null,
        port: port ?? null,
        connections,
        peers: peersOf(inst),
      };
    }
  }
}

function peersOf(inst: ConnectionHolder | null): PeerInfo[] {
  const list = inst ? (call(inst, 'peers') ?? []) : [];
  return list.slice(0, 50).map((p) => ({
    address: p.remoteAddress ?? '?',
    port: p.remotePort ?? null,
    since: p.connectedAt instanceof Date ? p.connectedAt.toISOString() : null,
  }));
}

/** Calls a probe method; a node that throws reads as "unknown", never breaks the snapshot. */
function call<K extends 'connectionCount' | 'peers' | 'boundPort'>(inst: ConnectionHolder, key: K): ReturnType<NonNullable<ConnectionHolder[K]>> | undefined {
  const fn = inst[key];
  if (typeof fn !== 'function') return undefined;
  try {
    return (fn as () => ReturnType<NonNullable<ConnectionHolder[K]>>).call(inst);
  } catch {
    return undefined;
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

/** `${HUB_MLLP_PORT}`-style references, as Node-RED resolves them when a flow starts. */
function expandEnv(s: string): string {
  return s.replace(/\$\{(\w+)\}/g, (_m, name: string) => process.env[name] ?? '');
}
