import { join } from 'node:path';
import { CANARY_MRN } from '../../test/fixtures/canary';
import { startFakeFhirServer } from '../../test/support/fake-fhir-server';
import type { FakeFhirServer } from '../../test/support/fake-fhir-server';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import serverInit = require('../emr-server/emr-server');
import patientMatchInit = require('./patient-match');

helper.init(require.resolve('node-red'));

const TOKEN_ENV = 'HUB_EMR_TEST_TOKEN';
const TOKEN = 'emr-static-token-for-patient-match';

const result = (mrn: string, n: number): Record<string, unknown> => ({
  resourceType: 'Observation',
  identifier: [{ system: 'urn:ivf-hub:hl7-result', value: `r${n}` }],
  subject: { identifier: { system: 'urn:ivf-hub:patient-id', value: mrn } },
});

describe('patient-match node', () => {
  let hub: HubHarness;
  let fhir: FakeFhirServer;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
    fhir = await startFakeFhirServer({ auth: 'bearer', staticToken: TOKEN });
    process.env[TOKEN_ENV] = TOKEN;
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await fhir.close();
    await hub.close();
    delete process.env[TOKEN_ENV];
    expect(canariesIn(logEvents())).toEqual([]);
  });

  async function load(node: Record<string, unknown> = {}, server: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      // The token comes from the environment variable the server names: flows carry no secret.
      { id: 'srv', type: 'emr-server', name: 'emr-core', baseUrl: fhir.baseUrl, authType: 'bearer', bearerTokenEnv: TOKEN_ENV, timeout: '2000', maxAttempts: '1', ...server },
      { id: 'n1', z: 'f1', type: 'patient-match', server: 'srv', mrnSystem: '${HUB_EMR_MRN_SYSTEM}', cycle: true, unmatched: 'output', ...node, wires: [['matched'], ['unknown']] },
      { id: 'matched', z: 'f1', type: 'helper' },
      { id: 'unknown', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(serverInit, join(__dirname, '..', 'emr-server'), 'emr-server'), withCatalog(patientMatchInit, __dirname, 'patient-match')], flow, {});
    return { matched: new MessageTap('matched'), unknown: new MessageTap('unknown'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  test('one msg per matched result, keeping the _msgid; unknown patients on output 2; the active cycle linked', async () => {
    const patient = fhir.seed({ resourceType: 'Patient', identifier: [{ system: 'urn:ivf-hub:patient-id', value: CANARY_MRN }] });
    const cycle = fhir.seed({ resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: `Patient/${patient.id}` } });
    const { matched, unknown, status } = await load();
    flowNode('n1').receive({ _msgid: 'queue-msg-1', payload: [result(CANARY_MRN, 1), result('MRN-NOBODY', 2), result(CANARY_MRN, 3)] } as TestMsg);
    const first = await matched.next();
    const second = await matched.next();
    for (const m of [first, second]) {
      expect(m._msgid).toBe('queue-msg-1');
      expect(m.payload).toMatchObject({ subject: { reference: `Patient/${patient.id}` }, extension: [{ valueReference: { reference: `EpisodeOfCare/${cycle.id}` } }] });
    }
    expect([first.matched, second.matched]).toEqual([{ index: 0, count: 2 }, { index: 1, count: 2 }]);
    const parked = await unknown.next();
    expect(parked.payload).toEqual([result('MRN-NOBODY', 2)]);
    expect(parked._msgid).toBe('queue-msg-1');
    await status.until((s) => s.text === '2 matched, 1 unknown patient');
    expect(canariesIn(status.all)).toEqual([]);
    // The bearer token came from the environment variable.
    expect(fhir.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  test('in retry mode an unknown patient fails the msg, retryable NOT_FOUND, for the work queue to try again', async () => {
    const { caught, matched } = await load({ unmatched: 'retry' });
    flowNode('n1').receive({ payload: [result('MRN-NOBODY', 1)] } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'NOT_FOUND', source: { id: 'n1' } });
    expect(failed.retryable).toBe(true);
    expect(matched.pending).toBe(0);
  });

  test('an EMR failure reaches Catch with its retryability, and names no MRN', async () => {
    const { caught, status } = await load();
    fhir.failNext(1, 503);
    flowNode('n1').receive({ payload: [result(CANARY_MRN, 1)] } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PROVIDER' });
    expect(failed.retryable).toBe(true);
    expect(canariesIn(failed.error)).toEqual([]);
    await status.until((s) => s.text === 'error: PROVIDER');
  });

  test('an unset ${HUB_EMR_FHIR_URL} is "waiting for configuration", not an error; results fail retryably', async () => {
    const { caught, status } = await load({}, { baseUrl: '${HUB_EMR_FHIR_URL}' });
    await status.until((s) => s.text === 'waiting for configuration');
    flowNode('n1').receive({ payload: [result(CANARY_MRN, 1)] } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'CONFIG' });
    expect(failed.retryable).toBe(true);
    // emr-server did not warn about an invalid URL: an unresolved reference means "not configured".
    expect(JSON.stringify(logEvents())).not.toContain('invalid EMR server configuration');
  });
});
