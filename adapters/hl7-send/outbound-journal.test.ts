import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '../hl7';
import { MllpTimeoutError } from '../mllp';
import { createMessageStore, type EncryptedMessageStore } from '../store';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { testStoreKeys } from '../../test/support/store-keys';
import { Hl7NackError, OutboundJournal, prepareOutbound, type Hl7SendResult } from './index';

const ACK = 'MSH|^~\\&|IVFEMR|REPROCLINIC|IVFLIS|REPROLAB|20260101||ACK^R01^ACK|ACK-1|P|2.5.1\rMSA|AA|CTRL-1\r';

function result(controlId: string, text = ACK): Hl7SendResult {
  return {
    ackCode: 'AA',
    ack: parse(text),
    controlId,
    ackControlId: 'ACK-1',
    errors: [],
    response: Buffer.from(text),
    responseText: text,
    connection: 0,
    durationMs: 1,
  };
}

describe('OutboundJournal', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let journal: OutboundJournal;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    journal = new OutboundJournal(store, { endpoint: 'emr-mllp', flowId: 'f1', nodeId: 'n1' });
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('begin inserts the message as processing; succeeded marks it sent and stores the ACK beside it', async () => {
    const prepared = prepareOutbound(canaryOru('CTRL-1'));
    const id = await journal.begin(prepared);
    expect(await store.get(id)).toMatchObject({
      direction: 'outbound',
      endpoint: 'emr-mllp',
      flowId: 'f1',
      nodeId: 'n1',
      status: 'processing',
      attempts: 0,
      controlId: 'CTRL-1',
      messageType: 'ORU^R01',
      sender: 'IVFLIS^REPROLAB',
      receiver: 'IVFEMR^REPROCLINIC',
      patientKey: store.patientKey(CANARY_MRN),
      contentType: 'application/hl7-v2',
      parentId: null,
    });

    const ackId = await journal.succeeded(id, result('CTRL-1'));
    expect(await store.get(id)).toMatchObject({ status: 'sent', attempts: 1, errorCode: null });
    const ack = await store.get(ackId, { includeBody: true });
    expect(ack).toMatchObject({
      direction: 'inbound',
      parentId: id,
      status: 'sent',
      controlId: 'ACK-1',
      messageType: 'ACK^R01',
      sender: 'IVFEMR^REPROCLINIC',
      receiver: 'IVFLIS^REPROLAB',
      patientKey: null,
    });
    expect(ack?.body?.toString()).toBe(ACK);
  });

  test('a related inbound record becomes the parent', async () => {
    const inbound = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', body: 'x' });
    const id = await journal.begin(prepareOutbound(canaryOru('CTRL-2')), { relatedId: inbound.id });
    expect((await store.get(id))?.parentId).toBe(inbound.id);
  });

  test('the message patient ID wins; msg.patientId is the fallback', async () => {
    const noPid = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A08|CTRL-3|P|2.5.1\r';
    const id = await journal.begin(prepareOutbound(noPid), { patientId: CANARY_MRN });
    expect((await store.get(id))?.patientKey).toBe(store.patientKey(CANARY_MRN));
  });

  test('failed stores the error code and PHI-free message, and the receiver answer when there was one', async () => {
    const prepared = prepareOutbound(canaryOru('CTRL-4'));
    const id = await journal.begin(prepared);
    const nackText = ACK.replace('MSA|AA|CTRL-1', 'MSA|AE|CTRL-4');
    const nack = new Hl7NackError('AE', 'CTRL-4', [{ code: '101' }], false, {
      userMessages: [],
      ackText: undefined,
      ack: parse(nackText),
      response: Buffer.from(nackText),
    });
    const ackId = await journal.failed(id, nack);

    expect(await store.get(id)).toMatchObject({ status: 'error', attempts: 1, errorCode: 'NACK', errorText: 'NACK AE for control ID CTRL-4 (ERR 101)' });
    expect(ackId).toBeDefined();
    expect(await store.get(ackId as string, { includeBody: true })).toMatchObject({ parentId: id, status: 'error', errorCode: 'NACK', controlId: 'ACK-1' });
  });

  test('failed without a response stores no related record', async () => {
    const id = await journal.begin(prepareOutbound(canaryOru('CTRL-5')));
    expect(await journal.failed(id, new MllpTimeoutError('no response within 5 ms', 5, true))).toBeUndefined();
    expect(await store.get(id)).toMatchObject({ status: 'error', errorCode: 'TIMEOUT', attempts: 1 });
    expect((await store.search({ parentId: id })).items).toEqual([]);
  });

  test('an unknown error is recorded by class name only', async () => {
    const id = await journal.begin(prepareOutbound(canaryOru('CTRL-6')));
    await journal.failed(id, new TypeError(`cannot read ${CANARY_MRN}`));
    expect(await store.get(id)).toMatchObject({ errorCode: 'UNKNOWN', errorText: 'TypeError' });
  });

  test('a retry of this node\'s own record updates it instead of inserting another', async () => {
    const prepared = prepareOutbound(canaryOru('CTRL-7'));
    const id = await journal.begin(prepared);
    await journal.failed(id, new MllpTimeoutError('no response', 5, true));

    const again = await journal.begin(prepared, { relatedId: id });
    expect(again).toBe(id);
    expect(await store.get(id)).toMatchObject({ status: 'processing', attempts: 1, errorCode: null, errorText: null });
    await journal.succeeded(id, result('CTRL-7'));
    expect(await store.get(id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await store.count({ controlId: 'CTRL-7' })).toBe(1);
  });

  test('another node\'s or another message\'s outbound record is a parent, not a retry', async () => {
    const other = new OutboundJournal(store, { endpoint: 'emr-mllp', flowId: 'f1', nodeId: 'n2' });
    const first = await other.begin(prepareOutbound(canaryOru('CTRL-8')));
    const id = await journal.begin(prepareOutbound(canaryOru('CTRL-8')), { relatedId: first });
    expect(id).not.toBe(first);
    const own = await journal.begin(prepareOutbound(canaryOru('CTRL-9')), { relatedId: id });
    expect(own).not.toBe(id);
    expect((await store.get(own))?.parentId).toBe(id);
  });
});
