import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { FhirIdentifier, FhirResource, SaveResult } from '../../adapters/emr';
import { errorCode } from '../../adapters/shared/errors';
import type { EmrServerNode } from '../emr-server/emr-server-node';
import { setStatus } from '../shared/status';
import { beginOutbound, failMsg, finishOutbound, nodeError, safeError } from './outbound';
import type { Msg, OutboundJob } from './outbound';
import { HUB_MESSAGE_SYSTEM } from './hub-message-system';
import { paymentNoticeOf, postingInputOf } from './payment-notice';

type Operation = 'create' | 'upsert' | 'update' | 'search' | 'payment';

interface EmrOutDef extends NodeDef {
  server: string;
  operation: Operation;
  resourceType: string;
  identifierSystem: string;
  referenceSystem: string;
  claimSystem: string;
  recipient: string;
}

/**
 * Writes to the EMR's FHIR API: conditional create (the default; a retry
 * never duplicates), conditional update, update by id, search by
 * identifier, or posting a payment (Stripe posting or 835 payment) as a
 * PaymentNotice. The hub message id is the idempotency key: a resource
 * without a business identifier gets one under HUB_MESSAGE_SYSTEM.
 */
export = function init(RED: NodeAPI): void {
  function EmrOut(this: Node, def: EmrOutDef): void {
    RED.nodes.createNode(this, def);
    const server = RED.nodes.getNode(def.server) as EmrServerNode | null;
    if (!server) {
      this.error(RED._('emr-out.errors.no-server'));
      setStatus(this, 'error', RED._('emr-out.status.not-configured'));
    } else {
      server.register(this);
      if (!server.fhir) setStatus(this, 'error', RED._(server.fhirProblem === 'invalid' ? 'emr-out.status.config-error' : 'emr-out.status.not-configured'));
    }
    const operation: Operation = ['create', 'upsert', 'update', 'search', 'payment'].includes(def.operation) ? def.operation : 'create';
    let saved = 0;

    const handle = async (msg: Msg, send: (msg: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      const fhir = server?.fhir;
      if (!server || !fhir) {
        setStatus(this, 'error', RED._('emr-out.status.not-configured'));
        failMsg(msg, nodeError(RED._('emr-out.errors.not-configured'), 'CONFIG'), done);
        return;
      }
      let job: OutboundJob | undefined;
      try {
        if (operation === 'search') {
          const type = (def.resourceType || (typeof msg.resourceType === 'string' ? msg.resourceType : '')).trim();
          const identifier = identifierOf(msg.identifier) ?? identifierOf(msg.payload);
          if (!identifier) throw nodeError(RED._('emr-out.errors.no-identifier'), 'PARSE');
          setStatus(this, 'processing', RED._('emr-out.status.sending'));
          const found = await fhir.searchByIdentifier(type, identifier);
          msg.payload = found;
          msg.fhir = { resourceType: type, count: found.length };
          setStatus(this, 'connected', RED._('emr-out.status.found', { count: found.length }));
          send(msg);
          done();
          return;
        }

        const resource = resourceFor(msg);
        const type = resource.resourceType;
        job = await beginOutbound(this, msg, { endpoint: server.storeName, messageType: `FHIR ${type}`, contentType: 'application/fhir+json', body: () => JSON.stringify(resource) });
        if (operation === 'create' && !hasIdentifier(resource)) resource.identifier = [{ system: HUB_MESSAGE_SYSTEM, value: job.key }];
        setStatus(this, 'processing', RED._('emr-out.status.sending'));
        let result: SaveResult;
        if (operation === 'upsert') result = await fhir.upsert(resource);
        else if (operation === 'update') result = await fhir.update(resource);
        else result = await fhir.createOnce(resource);
        msg.payload = result.resource;
        msg.fhir = { resourceType: type, id: result.id, versionId: result.versionId ?? null, created: result.created, status: result.status };
        delete msg.retryable;
        await finishOutbound(this, job, 'sent');
        saved += 1;
        setStatus(this, 'connected', RED._('emr-out.status.saved', { count: saved }));
        send(msg);
        done();
      } catch (err) {
        const safe = safeError(err, 'FHIR request');
        if (job) await finishOutbound(this, job, 'error', safe);
        setStatus(this, 'error', RED._('emr-out.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    };

    /** The resource to write: msg.payload, or a PaymentNotice built from the posting it carries. */
    const resourceFor = (msg: Msg): FhirResource => {
      if (operation === 'payment') {
        const input = postingInputOf(msg.posting) ?? postingInputOf(msg.payload);
        if (!input) throw nodeError(RED._('emr-out.errors.no-posting'), 'PARSE');
        const notice = paymentNoticeOf(input, {
          identifierSystem: def.identifierSystem || 'urn:ivf-hub:payment-notice',
          referenceSystem: def.referenceSystem || 'urn:ivf-hub:ledger-reference',
          claimSystem: def.claimSystem || 'urn:ivf-hub:claim',
          recipient: def.recipient ? { reference: def.recipient } : { display: 'Clinic' },
        });
        if ('notPosted' in notice) throw nodeError(RED._('emr-out.errors.not-posted'), 'PARSE');
        return notice;
      }
      let value = msg.payload;
      if (typeof value === 'string' || Buffer.isBuffer(value)) {
        try {
          value = JSON.parse(value.toString()) as unknown;
        } catch {
          throw nodeError(RED._('emr-out.errors.not-json'), 'PARSE');
        }
      }
      if (!value || typeof value !== 'object' || typeof (value as FhirResource).resourceType !== 'string') throw nodeError(RED._('emr-out.errors.no-resource'), 'PARSE');
      // A copy: the identifier added for idempotency must not change the caller's object.
      return JSON.parse(JSON.stringify(value)) as FhirResource;
    };

    this.on('input', (msg, send, done) => {
      handle(msg as Msg, send, done).catch((err: unknown) => done(safeError(err, 'FHIR request')));
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      const finish = (): void => {
        setStatus(this, 'idle');
        done();
      };
      if (!server) return finish();
      server
        .deregister(this)
        .catch((err: unknown) => this.warn(RED._('emr-out.errors.deregister', { code: errorCode(err) })))
        .finally(finish);
    });
  }

  RED.nodes.registerType('emr-out', EmrOut);
};

function identifierOf(value: unknown): FhirIdentifier | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  return typeof v.system === 'string' && typeof v.value === 'string' && v.system && v.value ? { system: v.system, value: v.value } : undefined;
}

function hasIdentifier(resource: FhirResource): boolean {
  return Array.isArray(resource.identifier) && resource.identifier.some((i) => i?.system && i.value);
}
