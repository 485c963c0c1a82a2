import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';

export type NodeInit = (RED: NodeAPI) => void;
export type FlowNode = { id: string; type: string } & Record<string, unknown>;
export type TestMsg = NodeMessage & Record<string, unknown>;

/** The part of node-red-node-test-helper these tests use. */
export interface NodeTestHelper {
  init(runtimePath: string, userSettings?: Record<string, unknown>): void;
  load(nodes: NodeInit | NodeInit[], flow: FlowNode[], credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  getNode(id: string): Node | null;
  /** Sinon spy on RED.log.log; each call's first argument is a log event. */
  log(): { args: unknown[][] };
}

// The helper ships without type declarations, so this is the one untyped import.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as NodeTestHelper;

/** A node of the loaded flow; fails the test when the id is not deployed. */
export function flowNode(id: string): Node {
  const node = helper.getNode(id);
  if (!node) throw new Error(`node ${id} is not in the loaded flow`);
  return node;
}

type Catalog = { [key: string]: string | Catalog };

/**
 * Wraps a node's init so `RED._` renders that node's `locales/en-US/<type>.json`.
 * The test helper's own `RED._` returns the key unchanged, which would hide a
 * missing catalog key and drop `__code__`-style substitutions from status text.
 * Keys the catalog does not hold fall through to whatever `RED._` was before,
 * so several wrapped nodes can share one load.
 * @param init - the node module's init function
 * @param nodeDir - the folder holding the node's `locales/`
 * @param type - the node type, which is also the catalog's file name
 */
export function withCatalog(init: NodeInit, nodeDir: string, type: string): NodeInit {
  const catalog = JSON.parse(readFileSync(join(nodeDir, 'locales', 'en-US', `${type}.json`), 'utf8')) as Catalog;
  return (RED) => {
    const previous = RED._;
    RED._ = (id, subs) => {
      const text = lookup(catalog, id);
      return text === undefined ? previous(id, subs) : text.replace(/__(\w+)__/g, (all, name: string) => (subs && name in subs ? String(subs[name]) : all));
    };
    init(RED);
  };
}

function lookup(catalog: Catalog, id: string): string | undefined {
  let at: string | Catalog | undefined = catalog;
  for (const part of id.split('.')) {
    if (typeof at !== 'object') return undefined;
    at = at[part];
  }
  return typeof at === 'string' ? at : undefined;
}

/** Queues every msg a (helper) node receives, so a test can await them in order. */
export class MessageTap {
  private readonly queue: TestMsg[] = [];
  private readonly waiting: ((msg: TestMsg) => void)[] = [];

  constructor(id: string) {
    flowNode(id).on('input', (msg: TestMsg) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(msg);
      else this.queue.push(msg);
    });
  }

  next(): Promise<TestMsg> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Messages received and not yet taken with `next()`. */
  get pending(): number {
    return this.queue.length;
  }
}

/**
 * Records a node's status calls. The helper proxies `Node.prototype.status`
 * and emits `call:status` on the node for each call.
 */
export class StatusTap {
  readonly all: NodeStatus[] = [];
  private readonly waiting: { match: (s: NodeStatus) => boolean; resolve: (s: NodeStatus) => void }[] = [];

  constructor(id: string) {
    // Node's typings only list 'input' and 'close'; the helper's events come through EventEmitter.
    const emitter: EventEmitter = flowNode(id);
    emitter.on('call:status', (call: { args: unknown[] }) => {
      const status = call.args[0] as NodeStatus;
      this.all.push(status);
      for (const w of [...this.waiting]) {
        if (w.match(status)) {
          this.waiting.splice(this.waiting.indexOf(w), 1);
          w.resolve(status);
        }
      }
    });
  }

  /** Resolves with the first status so far (or later) that matches. */
  until(match: (s: NodeStatus) => boolean): Promise<NodeStatus> {
    const seen = this.all.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }

  get last(): NodeStatus | undefined {
    return this.all[this.all.length - 1];
  }
}

const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, ...CANARY_NAME.split('^')];

/** The canary PHI values that occur in `value` (strings as they are, anything else inspected deeply). */
export function canariesIn(value: unknown): string[] {
  const text = typeof value === 'string' ? value : inspect(value, { depth: 20, breakLength: Infinity, maxStringLength: Infinity });
  return CANARIES.filter((c) => text.includes(c));
}

/** Every event the runtime logged since `helper.load`. */
export function logEvents(): unknown[] {
  return helper.log().args.map((args) => args[0]);
}
