import { join } from 'node:path';
import type { MessageRecord, MessageStore } from '../../adapters/store';
import astmInInit = require('../../nodes/astm-in/astm-in');
import instrumentInit = require('../../nodes/astm-instrument/astm-instrument');
import astmOutInit = require('../../nodes/astm-out/astm-out');
import type { AstmInstrumentNode } from '../../nodes/astm-instrument/types';
import { AnalyzerSimulator } from '../sim/analyzer-simulator';
import type { AnalyzerSimulatorOptions, PlayResult } from '../sim/analyzer-simulator';
import { recordsPlayback } from '../sim/playback';
import { flowNode, withCatalog } from './node-red-helper';
import type { FlowNode, NodeInit } from './node-red-helper';

/**
 * Shared pieces for the ASTM node and integration tests: the three node
 * types with their catalogs, config nodes on loopback port 0 with short
 * E1381 timers, a simulated analyzer, and store look-ups by endpoint.
 */

const NODES = join(__dirname, '..', '..', 'nodes');

/** astm-instrument, astm-in and astm-out, each rendering its own catalog. */
export function astmNodes(): NodeInit[] {
  return [
    withCatalog(instrumentInit, join(NODES, 'astm-instrument'), 'astm-instrument'),
    withCatalog(astmInInit, join(NODES, 'astm-in'), 'astm-in'),
    withCatalog(astmOutInit, join(NODES, 'astm-out'), 'astm-out'),
  ];
}

/**
 * Hub-side E1381 timers for tests: short enough that a fault costs little,
 * long enough that a busy machine does not time out a healthy exchange.
 */
export const HUB_TIMERS = { replyTimeoutMs: '3000', establishTimeoutMs: '3000', receiverTimeoutMs: '3000', busyRetryMs: '100' };
/** Analyzer-side timers: it gives up on a missing ACK quickly, so a dropped ACK is retried soon. */
export const SIM_TIMERS = { replyTimeoutMs: 1000, establishTimeoutMs: 3000, receiverTimeoutMs: 5000, contentionRetryMs: 50 };

/** An astm-instrument config node: listening on loopback port 0, IMMULITE profile, short timers, plus the test's settings. */
export function instrumentNode(id: string, settings: Record<string, unknown> = {}): FlowNode {
  return {
    id,
    type: 'astm-instrument',
    name: '',
    instrumentId: 'test-analyzer',
    mode: 'server',
    host: '127.0.0.1',
    port: '0',
    allowedPeers: '',
    maxConnections: '',
    profile: 'immulite-2000',
    profileJson: '',
    utcOffset: '',
    senderId: 'IVF-HUB',
    framing: '',
    encoding: '',
    connectTimeoutMs: '5000',
    duplicateWindowMs: '600000',
    queryTimeoutMs: '10000',
    querySpecimenComponent: '',
    ...HUB_TIMERS,
    ...settings,
  };
}

/** The config node of a loaded flow, listening. */
export async function listeningInstrument(id: string): Promise<AstmInstrumentNode> {
  const node = flowNode(id) as AstmInstrumentNode;
  await node.whenStarted();
  return node;
}

/** A simulated analyzer connected to (client mode) or listening for (server mode) the hub. */
export async function startAnalyzer(options: AnalyzerSimulatorOptions): Promise<AnalyzerSimulator> {
  const sim = new AnalyzerSimulator({ retryDelayMs: 50, ...options, connection: { ...SIM_TIMERS, ...options.connection } });
  await sim.start();
  return sim;
}

/** Play one E1394 record stream (CR-separated) as one session; fails the test when it was never delivered. */
export async function play(sim: AnalyzerSimulator, name: string, stream: string): Promise<PlayResult> {
  const result = await sim.play(recordsPlayback(name, stream));
  if (!result.ok) throw new Error(`the simulated analyzer could not deliver ${name}: ${JSON.stringify(result.errors)}`);
  return result;
}

/** Inbound records of an endpoint, oldest first, with bodies. */
export async function inbound(store: MessageStore, endpoint: string): Promise<MessageRecord[]> {
  const page = await store.search({ endpoint, direction: 'inbound', limit: 500 });
  const full = await Promise.all(page.items.map((r) => store.get(r.id, { includeBody: true })));
  return full.filter((r): r is MessageRecord => r !== null).sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || a.id.localeCompare(b.id));
}

/** Outbound records of an endpoint, oldest first, with bodies. */
export async function outbound(store: MessageStore, endpoint: string): Promise<MessageRecord[]> {
  const page = await store.search({ endpoint, direction: 'outbound', limit: 500 });
  const full = await Promise.all(page.items.map((r) => store.get(r.id, { includeBody: true })));
  return full.filter((r): r is MessageRecord => r !== null).sort((a, b) => a.id.localeCompare(b.id));
}
