import { DEFAULT_BAUD_RATE, MAX_BAUD_RATE, MIN_BAUD_RATE, validateProfile } from '../../adapters/astm';
import type { AstmClientOptions, AstmConnectionOptions, AstmSerialOptions, AstmServerOptions, InstrumentProfile } from '../../adapters/astm';
import architect from '../../adapters/astm/fixtures/architect-i1000.profile.json';
import cobas from '../../adapters/astm/fixtures/cobas-e411.profile.json';
import immulite from '../../adapters/astm/fixtures/immulite-2000.profile.json';
import { CONNECT_WAIT_MS, QUERY_TIMEOUT_MS } from './analyzer-link';
import type { AnalyzerLinkOptions, QueryAnswerOptions } from './analyzer-link';
import type { AstmInstrumentDef } from './types';

/** How an instrument family talks, beyond its profile: where Q.3 holds the specimen ID, how answers look. */
interface Dialect {
  specimenIdComponent: number;
  answers: Omit<QueryAnswerOptions, 'sender'>;
}

/**
 * Built-in instruments: the profiles in adapters/astm/fixtures (mapping
 * tables for the IVF monitoring tests) and what each one's host interface
 * expects of query answers.
 */
export const BUILT_IN_PROFILES: Record<string, { profile: unknown; dialect: Dialect }> = {
  // LIS2-A2 §12: Q.3 `^specimen`; the IMMULITE download sample has one O record per test.
  'immulite-2000': { profile: immulite, dialect: { specimenIdComponent: 2, answers: { oneTestPerOrder: true } } },
  // cobas e411 host interface: Q.3 `^^specimen^seq^rack^pos...`, answers carry TSDWN^REPLY and an O record for every queried specimen.
  'cobas-e411': { profile: cobas, dialect: { specimenIdComponent: 3, answers: { answerUnknownSpecimens: true, queryHeaderComment: ['TSDWN', 'REPLY'] } } },
  'architect-i1000': { profile: architect, dialect: { specimenIdComponent: 2, answers: {} } },
};

export const DEFAULT_SENDER = 'IVF-HUB';
/** The adapter's default; also the window of the store look-up that survives restarts. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
const DEFAULT_DIALECT: Dialect = { specimenIdComponent: 2, answers: {} };

/**
 * Turn the editor's fields into AnalyzerLink options. Throws with the field
 * name on bad input (never a value from a message: there is none here).
 *
 * @param def - the config node's fields (env references already resolved by Node-RED)
 * @param ids - recorded on stored messages
 */
export function readSettings(def: AstmInstrumentDef, ids: { nodeId: string; flowId?: string | null }): AnalyzerLinkOptions {
  const instrumentId = (def.instrumentId ?? '').trim() || (def.name ?? '').trim();
  if (!/^[\w.-]{1,64}$/.test(instrumentId)) throw new Error('instrument id must be 1-64 letters, digits, dots, dashes or underscores');
  const { profile, dialect } = readProfile(def, instrumentId);
  const mode = def.mode || 'server';
  if (mode !== 'server' && mode !== 'client' && mode !== 'serial') throw new Error('mode must be server, client or serial');
  const host = (def.host ?? '').trim();
  // Serial mode has no port number; the field keeps its TCP value for switching back.
  const port = mode === 'serial' ? 0 : int(def.port, 'port', mode === 'server' ? 0 : 1, 65535);
  if (port === undefined) throw new Error('port is required');

  const link: AstmConnectionOptions = {};
  const timer = (key: 'establishTimeoutMs' | 'replyTimeoutMs' | 'receiverTimeoutMs' | 'busyRetryMs'): void => {
    const v = int(def[key], key, 1, 600_000);
    if (v !== undefined) link[key] = v;
  };
  timer('establishTimeoutMs');
  timer('replyTimeoutMs');
  timer('receiverTimeoutMs');
  timer('busyRetryMs');
  if (def.framing) {
    if (def.framing !== 'record' && def.framing !== 'message') throw new Error('framing must be record or message');
    link.framing = def.framing;
  }
  if (def.encoding) {
    if (!['auto', 'utf8', 'latin1'].includes(def.encoding)) throw new Error('encoding must be auto, utf8 or latin1');
    link.encoding = def.encoding;
  }
  const duplicateWindowMs = int(def.duplicateWindowMs, 'duplicateWindowMs', 0, 86_400_000) ?? DUPLICATE_WINDOW_MS;
  link.duplicateWindowMs = duplicateWindowMs;
  const specimenIdComponent = int(def.querySpecimenComponent, 'querySpecimenComponent', 1, 20) ?? dialect.specimenIdComponent;
  const connectTimeoutMs = int(def.connectTimeoutMs, 'connectTimeoutMs', 1, 600_000);

  let transport: AnalyzerLinkOptions['transport'];
  if (mode === 'server') {
    const options: AstmServerOptions = { ...link, host: host || '127.0.0.1', port };
    const peers = (def.allowedPeers ?? '').split(/[\s,]+/).filter(Boolean);
    if (peers.length > 0) options.allowedPeers = peers;
    const max = int(def.maxConnections, 'maxConnections', 1, 1000);
    if (max !== undefined) options.maxConnections = max;
    transport = { mode, options };
  } else if (mode === 'serial') {
    transport = { mode, options: { ...link, ...readSerial(def), ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}) } };
  } else {
    if (!host) throw new Error('host (the terminal server) is required in client mode');
    const options: AstmClientOptions = { ...link, host, port, ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}) };
    transport = { mode, options };
  }
  return {
    instrumentId,
    transport,
    profile,
    answers: { sender: (def.senderId ?? '').trim() || DEFAULT_SENDER, ...dialect.answers },
    query: { specimenIdComponent },
    queryTimeoutMs: int(def.queryTimeoutMs, 'queryTimeoutMs', 1, 600_000) ?? QUERY_TIMEOUT_MS,
    connectWaitMs: connectTimeoutMs ?? CONNECT_WAIT_MS,
    duplicateWindowMs,
    nodeId: ids.nodeId,
    flowId: ids.flowId ?? null,
  };
}

/**
 * The instrument profile: a built-in one (optionally with keys overridden
 * by the JSON field, `tests` merged code by code) or the JSON field as a
 * whole profile. The results carry the config node's instrument id.
 */
function readProfile(def: AstmInstrumentDef, instrumentId: string): { profile: InstrumentProfile; dialect: Dialect } {
  const choice = def.profile || 'immulite-2000';
  const text = (def.profileJson ?? '').trim();
  let extra: Record<string, unknown> = {};
  if (text !== '') {
    try {
      extra = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error('profile JSON is not valid JSON');
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) throw new Error('profile JSON must be an object');
  }
  let raw: Record<string, unknown>;
  let dialect = DEFAULT_DIALECT;
  if (choice === 'custom') {
    if (text === '') throw new Error('a custom profile needs the profile JSON');
    raw = { ...extra };
  } else {
    const builtIn = BUILT_IN_PROFILES[choice];
    if (!builtIn) throw new Error(`profile must be one of ${[...Object.keys(BUILT_IN_PROFILES), 'custom'].join(', ')}`);
    dialect = builtIn.dialect;
    const base = structuredClone(builtIn.profile) as Record<string, unknown>;
    const tests = { ...(base.tests as Record<string, unknown>), ...((extra.tests as Record<string, unknown> | undefined) ?? {}) };
    raw = { ...base, ...extra, tests };
  }
  raw.instrumentId = instrumentId;
  const offset = (def.utcOffset ?? '').trim();
  if (offset) raw.utcOffset = offset;
  try {
    return { profile: validateProfile(raw), dialect };
  } catch (err) {
    throw new Error(`profile: ${(err as Error).message}`);
  }
}

/** The RS-232 line settings of serial mode; blank fields take E1381's usual 9600 8N1. */
function readSerial(def: AstmInstrumentDef): Pick<AstmSerialOptions, 'path' | 'baudRate' | 'dataBits' | 'parity' | 'stopBits' | 'rtscts'> {
  const path = (def.path ?? '').trim();
  if (!path) throw new Error('path (the serial device) is required in serial mode');
  const baudRate = int(def.baudRate, 'baudRate', MIN_BAUD_RATE, MAX_BAUD_RATE) ?? DEFAULT_BAUD_RATE;
  const dataBits = int(def.dataBits, 'dataBits', 7, 8) ?? 8;
  const parity = String(def.parity ?? '').trim() || 'none';
  if (parity !== 'none' && parity !== 'even' && parity !== 'odd') throw new Error('parity must be none, even or odd');
  const stopBits = int(def.stopBits, 'stopBits', 1, 2) ?? 1;
  const rtscts = def.rtscts === true || def.rtscts === 'true';
  return { path, baudRate, dataBits: dataBits as 7 | 8, parity, stopBits: stopBits as 1 | 2, rtscts };
}

/** Blank means "not set"; anything else must be an integer in range. */
function int(value: string | number | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null || String(value).trim() === '') return undefined;
  const n = Number(String(value).trim());
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}
