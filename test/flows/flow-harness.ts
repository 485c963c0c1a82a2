import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import { InMemoryQueue } from '../../adapters/queue';
import { QueueDirectory } from '../../adapters/queue/queue-directory';
import { getHubServices, setHubServices } from '../../adapters/shared/registry';
import { startTestHub, withHooks } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { helper, withCatalog } from '../support/node-red-helper';
import type { FlowNode, NodeInit, TestMsg } from '../support/node-red-helper';

/**
 * Flow tests for interface analysts: a fixture file beside a flow
 * (`flows/tests/<flow>/<case>.json`) says which message goes in where and
 * what must come out where. The nodes named in `expect` (and `expectNothing`)
 * are swapped for capture stubs, so the flow runs for real up to them and
 * nothing leaves the machine: what is asserted is exactly what the flow would
 * hand to the EMR, the LIS or a provider.
 */
export interface FlowFixture {
  /** One line: what this case proves. */
  description: string;
  /** Environment for `${VAR}` properties, set before the flow loads. */
  env?: Record<string, string>;
  /** The message, sent into the node with this id or name. */
  send: {
    to: string;
    msg?: Record<string, unknown>;
    /** A file beside the fixture whose text becomes msg.payload (HL7 segments end with CR, whatever the file uses). */
    payloadFile?: string;
  };
  /** For each node (id or name): the message it must receive; keys are msg paths (`payload.code.coding[0].code`). */
  expect: { at: string; msg: Record<string, Expected> }[];
  /** Nodes that must receive nothing. */
  expectNothing?: string[];
  /** How long to wait for each expected message; default 5000 ms. */
  timeoutMs?: number;
  /** How long `expectNothing` nodes are watched after the expected messages arrived; default 300 ms. */
  settleMs?: number;
}

/** A JSON value compared with deep equality, or a matcher. */
export type Expected = unknown | { $match: string } | { $exists: boolean };

export interface FixtureResult {
  fixture: string;
  description: string;
  failures: string[];
}

const ROOT = join(__dirname, '..', '..');
const CORE_DIR = dirname(require.resolve('@node-red/nodes/package.json'));

/** Hub node types from package.json, mapped to their TypeScript sources. */
function hubNodeInits(): Map<string, NodeInit> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  const inits = new Map<string, NodeInit>();
  for (const type of Object.keys(pkg['node-red'].nodes)) {
    const dir = join(ROOT, 'nodes', type);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    inits.set(type, withCatalog(withHooks(require(join(dir, `${type}.ts`)) as NodeInit), dir, type));
  }
  return inits;
}

/**
 * The test helper registers its preloaded core nodes (catch, status,
 * complete) once per node of that type in the flow, so a flow with two catch
 * nodes fails with "catch already registered". Each registers once per load here.
 */
function onceEachPreloadedCore(): void {
  const modules = (helper as unknown as { _nodeModules: Record<string, (red: unknown) => unknown> })._nodeModules;
  const original = ((onceEachPreloadedCore as { originals?: Record<string, (red: unknown) => unknown> }).originals ??= { ...modules });
  for (const [type, init] of Object.entries(original)) {
    let registered = false;
    modules[type] = (red) => {
      if (registered) return undefined;
      registered = true;
      return init(red);
    };
  }
}

/** Core node types (switch, change, link in, …) mapped to the file that registers them. */
function coreNodeFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const core = join(CORE_DIR, 'core');
  for (const group of readdirSync(core)) {
    for (const file of readdirSync(join(core, group)).filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(core, group, file), 'utf8');
      for (const m of text.matchAll(/registerType\(\s*["']([^"']+)["']/g)) files.set(m[1]!, join(core, group, file));
    }
  }
  return files;
}

/** Node id for an id or a name (names must be unique in the flow to be used). */
function resolveNode(flow: FlowNode[], ref: string): FlowNode {
  const byId = flow.find((n) => n.id === ref);
  if (byId) return byId;
  const named = flow.filter((n) => n.name === ref);
  if (named.length !== 1) throw new Error(`fixture names node "${ref}", which is ${named.length === 0 ? 'not in the flow' : 'not unique'}`);
  return named[0]!;
}

/** msg path lookup as Node-RED's change/switch nodes read it. */
function getPath(msg: TestMsg, path: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { util } = require('@node-red/util') as { util: { getMessageProperty(msg: unknown, expr: string): unknown } };
  try {
    return util.getMessageProperty(msg, path);
  } catch {
    return undefined;
  }
}

function describeValue(v: unknown): string {
  if (Buffer.isBuffer(v)) return `<Buffer ${v.length} bytes>`;
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function compare(at: string, msg: TestMsg, expected: Record<string, Expected>): string[] {
  const failures: string[] = [];
  for (const [path, want] of Object.entries(expected)) {
    const got = getPath(msg, path);
    if (want && typeof want === 'object' && '$match' in want) {
      if (typeof got !== 'string' || !new RegExp((want as { $match: string }).$match).test(got)) {
        failures.push(`${at}: msg.${path} is ${describeValue(got)}, expected to match /${(want as { $match: string }).$match}/`);
      }
    } else if (want && typeof want === 'object' && '$exists' in want) {
      if ((got !== undefined) !== (want as { $exists: boolean }).$exists) failures.push(`${at}: msg.${path} is ${describeValue(got)}, expected it ${(want as { $exists: boolean }).$exists ? 'to exist' : 'to be absent'}`);
    } else if (JSON.stringify(got) !== JSON.stringify(want)) {
      failures.push(`${at}: msg.${path} is ${describeValue(got)}, expected ${describeValue(want)}`);
    }
  }
  return failures;
}

/** A capture stub: stands in for a destination and completes what it receives. */
const captureNode: NodeInit = (RED: NodeAPI) => {
  function FlowTestCapture(this: Node & { received?: TestMsg[] }, def: FlowNode): void {
    RED.nodes.createNode(this, def as never);
    this.received = [];
    this.on('input', (msg, _send, done) => {
      this.received!.push(msg as TestMsg);
      this.emit('captured', msg);
      done();
    });
  }
  RED.nodes.registerType('flow-test-capture', FlowTestCapture as never);
};

/** Fixture files of a flow: `flows/tests/<flow name without .json>/*.json`. */
export function fixturesOf(flowFile: string): string[] {
  const dir = join(dirname(flowFile), 'tests', basename(flowFile, '.json'));
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/**
 * Runs one fixture against a flow (given as its node array, so a test can
 * hand in a changed copy). Uses a real SQLite store and an in-memory queue.
 */
export async function runFixture(flowNodes: FlowNode[], fixtureFile: string): Promise<FixtureResult> {
  const fixture = JSON.parse(readFileSync(fixtureFile, 'utf8')) as FlowFixture;
  const result: FixtureResult = { fixture: basename(fixtureFile), description: fixture.description, failures: [] };
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries({ HUB_BIND: '127.0.0.1', HUB_MLLP_PORT: '0', HUB_ASTM_PORT: '0', ...fixture.env })) {
    saved.set(k, process.env[k]);
    process.env[k] = v;
  }
  const flow = flowNodes.map((n) => ({ ...n }));
  const captured = [...fixture.expect.map((e) => e.at), ...(fixture.expectNothing ?? [])].map((ref) => resolveNode(flow, ref));
  for (const n of captured) {
    n.type = 'flow-test-capture';
    n.wires = [];
  }
  const target = resolveNode(flow, fixture.send.to);
  const hub: TestHub = await startTestHub();
  const queue = new InMemoryQueue();
  setHubServices({ ...getHubServices(), queue, queueDirectory: new QueueDirectory() });
  try {
    const hubInits = hubNodeInits();
    const core = coreNodeFiles();
    const types = new Set(flow.map((n) => n.type));
    const inits: NodeInit[] = [captureNode];
    for (const type of types) {
      if (hubInits.has(type)) inits.push(hubInits.get(type)!);
      else if (core.has(type) && !['catch', 'status', 'complete'].includes(type)) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        inits.push(require(core.get(type)!) as NodeInit);
      }
    }
    onceEachPreloadedCore();
    await helper.load([...new Set(inits)], flow as FlowNode[]);
    const msg: TestMsg = { ...(fixture.send.msg ?? {}) } as TestMsg;
    if (fixture.send.payloadFile) {
      const text = readFileSync(join(dirname(fixtureFile), fixture.send.payloadFile), 'utf8');
      msg.payload = /^(MSH|FHS|BHS)/.test(text) ? text.replace(/\r?\n/g, '\r') : text;
    }
    const waits = fixture.expect.map((e) => {
      const node = helper.getNode(resolveNode(flow, e.at).id) as (Node & { received: TestMsg[] }) | null;
      if (!node) throw new Error(`node ${e.at} did not start`);
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          result.failures.push(`${e.at}: received nothing within ${fixture.timeoutMs ?? 5000} ms`);
          resolve();
        }, fixture.timeoutMs ?? 5000);
        const check = (m: TestMsg): void => {
          clearTimeout(timer);
          result.failures.push(...compare(e.at, m, e.msg));
          resolve();
        };
        if (node.received.length > 0) check(node.received[0]!);
        else node.once('captured', check);
      });
    });
    helper.getNode(target.id)!.receive(msg);
    await Promise.all(waits);
    // Nothing arriving can only be judged after a while: give stray messages time to show up.
    if (fixture.expectNothing?.length) await new Promise((resolve) => setTimeout(resolve, fixture.settleMs ?? 300));
    for (const ref of fixture.expectNothing ?? []) {
      const node = helper.getNode(resolveNode(flow, ref).id) as (Node & { received: TestMsg[] }) | null;
      if (node && node.received.length > 0) result.failures.push(`${ref}: received a message, expected nothing`);
    }
  } finally {
    await helper.unload();
    await queue.close();
    await hub.close();
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return result;
}
