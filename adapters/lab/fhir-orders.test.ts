import { CANARY_DOB, CANARY_MRN } from '../../test/fixtures/canary';
import { canaryPatient, monitoringOrderBundle } from '../../test/fixtures/fhir-orders';
import { ordersFromServiceRequests } from './fhir-orders';

type Json = Record<string, unknown>;

function input(bundle: Json): { serviceRequests: Json[]; resources: Record<string, Json> } {
  const resources: Record<string, Json> = {};
  const serviceRequests: Json[] = [];
  for (const e of bundle.entry as { fullUrl?: string; resource: Json }[]) {
    if (e.resource.resourceType === 'ServiceRequest') serviceRequests.push(e.resource);
    else {
      resources[`${String(e.resource.resourceType)}/${String(e.resource.id)}`] = e.resource;
      if (e.fullUrl) resources[e.fullUrl] = e.resource;
    }
  }
  return { serviceRequests, resources };
}

describe('ordersFromServiceRequests', () => {
  test('a Bundle of two requests on one specimen is one order: LOINC mapped to instrument codes, the patient for the P record', () => {
    const out = ordersFromServiceRequests(input(monitoringOrderBundle()), { tests: { '2243-4': 'E2', '10501-5': 'LH' } });
    expect(out.cancelled).toEqual([]);
    expect(out.orders).toEqual([
      {
        specimenId: 'S26-000888',
        tests: ['E2', 'LH'],
        orderedCodes: ['2243-4', '10501-5'],
        priority: 'S',
        collectedAt: '20261204080500',
        placerOrder: 'PL-sr-e2',
        patient: { id: CANARY_MRN, name: { family: 'CANARYSURNAME', given: 'CANARYGIVEN' }, birthDate: CANARY_DOB, sex: 'F' },
      },
    ]);
  });

  test('revoked or entered-in-error requests cancel their specimen; draft and on-hold ones are left alone', () => {
    expect(ordersFromServiceRequests(input(monitoringOrderBundle('S26-1', 'revoked')))).toEqual({ orders: [], cancelled: ['S26-1'] });
    expect(ordersFromServiceRequests(input(monitoringOrderBundle('S26-2', 'entered-in-error')))).toEqual({ orders: [], cancelled: ['S26-2'] });
    expect(ordersFromServiceRequests(input(monitoringOrderBundle('S26-3', 'draft')))).toEqual({ orders: [], cancelled: [] });
    expect(ordersFromServiceRequests(input(monitoringOrderBundle('S26-4', 'on-hold')))).toEqual({ orders: [], cancelled: [] });
  });

  test('a lone request: contained patient, a logical specimen reference, unmapped codes sent as they are', () => {
    const request = {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      contained: [{ ...canaryPatient, id: 'p' }],
      code: { coding: [{ system: 'http://loinc.org', code: '21198-7' }] },
      subject: { reference: '#p' },
      specimen: [{ identifier: { system: 'urn:ivf-lab:accession', value: 'S26-LOGICAL' } }],
    };
    expect(ordersFromServiceRequests({ serviceRequests: [request] }).orders).toEqual([
      expect.objectContaining({ specimenId: 'S26-LOGICAL', tests: ['21198-7'], priority: 'R', patient: expect.objectContaining({ id: CANARY_MRN, sex: 'F' }) }),
    ]);
  });

  test('without a specimen the requisition, then the placer identifier, names it; a subject known only by identifier gives the patient id', () => {
    const base = { resourceType: 'ServiceRequest', status: 'active', code: { coding: [{ code: 'E2-LOCAL' }] }, subject: { identifier: { value: CANARY_MRN } } };
    expect(ordersFromServiceRequests({ serviceRequests: [{ ...base, requisition: { value: 'REQ-1' }, identifier: [{ value: 'PL-9' }] }] }).orders[0]).toMatchObject({ specimenId: 'REQ-1', placerOrder: 'PL-9', patient: { id: CANARY_MRN } });
    expect(ordersFromServiceRequests({ serviceRequests: [{ ...base, identifier: [{ value: 'PL-9' }] }] }).orders[0]).toMatchObject({ specimenId: 'PL-9', tests: ['E2-LOCAL'] });
    // Nothing to name the specimen by, or no code: no order (there is nothing an analyzer could be asked).
    expect(ordersFromServiceRequests({ serviceRequests: [base] }).orders).toEqual([]);
    expect(ordersFromServiceRequests({ serviceRequests: [{ ...base, requisition: { value: 'REQ-2' }, code: { coding: [] } }] }).orders).toEqual([]);
  });
});
