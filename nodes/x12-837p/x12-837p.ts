import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { Claim837Builder, claimFromDft, claimFromFhir, SqliteControlNumberSource } from '../../adapters/x12';
import type { BillingParties, Built837P, ChargeClaimOptions, InterchangeParties, ProfessionalClaim } from '../../adapters/x12';
import { derivedMessageId, failMsg, hubMessageIdOf, hubServicesOrNull, nodeError, safeError } from '../emr-out/outbound';
import type { Msg } from '../emr-out/outbound';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { envSetting } from '../shared/env-setting';
import { setStatus } from '../shared/status';
import { acquireShared, providersDir } from './hub-data';
import type { SharedHandle } from './hub-data';
import { manifestFromInterchange } from './manifest';
import { CONTROL_NUMBERS_FILE, X12_CONTENT_TYPE } from './x12-837p-constants';

interface X12837pDef extends NodeDef {
  /** InterchangeParties as JSON (ISA/GS identities, usage T/P). */
  parties: string;
  /** BillingParties as JSON (submitter, receiver, billing provider). */
  billing: string;
  placeOfService: string;
  filingIndicator: string;
  payerName: string;
  payerId: string;
  requestTa1: boolean;
}

/**
 * Builds an 837P interchange from charges: an HL7 DFT^P03 (msg.payload
 * text), FHIR Claim/Bundle JSON (msg.payload object), or claims
 * (msg.claims). Control numbers come from a SQLite file in the hub's data
 * dir, so they survive restarts and never repeat. The interchange is
 * recorded in the store; the same msg again (a retry) gets the stored
 * interchange back instead of a second one with new control numbers.
 */
export = function init(RED: NodeAPI): void {
  function X12837p(this: Node, def: X12837pDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const logger = nodeLogger(node);
    let builder: Claim837Builder | undefined;
    let numbers: SharedHandle<SqliteControlNumberSource> | undefined;
    let problem: 'not-configured' | 'invalid' | undefined;
    let built = 0;

    try {
      const parties = jsonSetting<InterchangeParties>(def.parties);
      const billing = jsonSetting<BillingParties>(def.billing);
      const dir = providersDir(RED);
      if (!parties || !billing) problem = 'not-configured';
      else if (!dir) throw new Error('Node-RED has no user dir, so control numbers cannot be persisted');
      else if (typeof parties.senderId !== 'string' || parties.senderId.trim() === '') throw new Error('parties.senderId (ISA06) is required');
      else {
        mkdirSync(dir, { recursive: true });
        const path = join(dir, CONTROL_NUMBERS_FILE);
        const scope = parties.senderId.trim();
        numbers = acquireShared(`x12-control-numbers:${path}:${scope}`, () => new SqliteControlNumberSource({ path, scope }));
        builder = new Claim837Builder({ parties, billing, requestTa1: def.requestTa1 !== false }, { controlNumbers: numbers.value, logger });
      }
    } catch (err) {
      problem = 'invalid';
      node.warn(RED._('x12-837p.errors.config', { reason: err instanceof Error ? err.message : String(err) }));
    }
    if (problem) setStatus(node, 'error', RED._(problem === 'invalid' ? 'x12-837p.status.config-error' : 'x12-837p.status.not-configured'));

    const claimOptions: ChargeClaimOptions = {
      ...(def.placeOfService ? { placeOfService: def.placeOfService } : {}),
      ...(def.filingIndicator ? { filingIndicator: def.filingIndicator } : {}),
      ...(def.payerName && def.payerId ? { payer: { name: def.payerName, id: def.payerId } } : {}),
    };

    const handle = async (msg: Msg, send: (msg: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      if (!builder) {
        failMsg(msg, nodeError(RED._('x12-837p.errors.not-configured'), 'CONFIG'), done);
        return;
      }
      try {
        const store = hubServicesOrNull()?.store ?? null;
        const given = hubMessageIdOf(msg);
        // The record id is stable per node and input message: a retry finds what the first attempt built.
        let reuse = given && store ? await store.get(given, { includeBody: true }) : null;
        if (reuse && !(reuse.nodeId === node.id && reuse.messageType === '837P')) reuse = null;
        const recordId = reuse?.id ?? derivedMessageId(node.id, given ?? String(msg._msgid));
        if (!reuse && store) reuse = await store.get(recordId, { includeBody: true });

        let result: Built837P;
        if (reuse?.body) {
          const { manifest, fileName } = manifestFromInterchange(reuse.body.toString('utf8'), reuse.receivedAt);
          result = { x12: reuse.body.toString('utf8'), manifest, fileName };
        } else {
          const claims = claimsOf(msg, claimOptions);
          setStatus(node, 'processing', RED._('x12-837p.status.building'));
          result = await builder.build(claims);
          if (store) {
            await store.insert({
              id: recordId,
              flowId: node.z ?? null,
              nodeId: node.id,
              direction: 'outbound',
              endpoint: def.name || 'x12-837p',
              controlId: result.manifest.interchangeControlNumber,
              messageType: '837P',
              sender: result.manifest.senderId,
              receiver: result.manifest.receiverId,
              parentId: given ?? null,
              status: 'processing',
              contentType: X12_CONTENT_TYPE,
              body: result.x12,
            });
          }
        }
        msg.payload = result.x12;
        msg.manifest = result.manifest;
        msg.fileName = result.fileName;
        msg.controlId = result.manifest.interchangeControlNumber;
        msg.messageType = '837P';
        msg.x12 = { fileName: result.fileName, interchangeControlNumber: result.manifest.interchangeControlNumber, claims: result.manifest.transactions.reduce((n, t) => n + t.claimIds.length, 0), reused: Boolean(reuse?.body) };
        if (store) msg.hubMessageId = recordId;
        delete msg.retryable;
        built += 1;
        setStatus(node, 'connected', RED._('x12-837p.status.built', { count: built }));
        send(msg);
        done();
      } catch (err) {
        const safe = safeError(err, '837P build');
        setStatus(node, 'error', RED._('x12-837p.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    };

    node.on('input', (msg, send, done) => {
      handle(msg as Msg, send, done).catch((err: unknown) => done(safeError(err, '837P build')));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(numbers?.release())
        .catch((err: unknown) => node.warn(RED._('x12-837p.errors.close', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('x12-837p', X12837p);
};

/** The claims a msg carries: msg.claims / msg.claim, a DFT^P03 in msg.payload, or FHIR JSON in msg.payload. */
function claimsOf(msg: Msg, options: ChargeClaimOptions): ProfessionalClaim[] {
  if (Array.isArray(msg.claims)) return msg.claims as ProfessionalClaim[];
  if (msg.claim && typeof msg.claim === 'object') return [msg.claim as ProfessionalClaim];
  let payload = msg.payload;
  if (Buffer.isBuffer(payload)) payload = payload.toString('utf8');
  if (typeof payload === 'string') {
    const text = payload.trimStart();
    if (text.startsWith('MSH')) return [claimFromDft(text, options)];
    try {
      payload = JSON.parse(text) as unknown;
    } catch {
      throw nodeError('msg.payload is neither an HL7 DFT^P03 nor FHIR JSON', 'PARSE');
    }
  }
  if (payload && typeof payload === 'object') return [claimFromFhir(payload, options)];
  throw nodeError('nothing to bill: msg.payload is empty and msg.claims is not set', 'PARSE');
}

/** A JSON setting; undefined when blank. */
function jsonSetting<T>(raw: string | undefined): T | undefined {
  // `${HUB_X12_PARTIES}` left as it is: the variable is unset, so not configured yet.
  const text = envSetting(raw);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error('a trading-partner setting is not valid JSON');
  }
}
