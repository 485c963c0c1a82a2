import { EmrEventError } from './errors';
import { canaryPatient, monitoringOrderBundle } from '../../test/fixtures/fhir-orders';
import { parseEmrEvent } from './emr-events';

const charge = {
  id: 'evt-charge-1',
  type: 'charge.posted',
  occurredAt: '2025-03-18T17:00:00-04:00',
  data: { chargeId: 'CHG-0001', patientId: 'CANARY-MRN-0001', accountId: 'ACCT-IVF-0318', code: '58970', amount: { value: 3500, currency: 'USD' }, serviceDate: '2025-03-18', diagnoses: ['N97.9'] },
};

function fieldOf(input: unknown): string {
  try {
    parseEmrEvent(JSON.stringify(input));
  } catch (err) {
    expect(err).toBeInstanceOf(EmrEventError);
    expect((err as Error).message).not.toContain('CANARY');
    return (err as EmrEventError).field;
  }
  throw new Error('expected EmrEventError');
}

describe('parseEmrEvent', () => {
  test('order.placed: a FHIR Bundle of ServiceRequests with its Patient and Specimen; order.changed: a lone ServiceRequest', () => {
    const placed = parseEmrEvent(JSON.stringify({ id: 'evt-o1', type: 'order.placed', occurredAt: '2026-12-04T07:00:00-05:00', data: monitoringOrderBundle() }));
    if (placed.type !== 'order.placed') throw new Error('expected an order event');
    expect(placed.order.serviceRequests.map((r) => r.id)).toEqual(['sr-e2', 'sr-lh']);
    expect(Object.keys(placed.order.resources).sort()).toEqual(['Patient/pat-canary', 'Specimen/spec-1', 'urn:uuid:patient']);
    // Keyed like HL7 PID-3: the referenced Patient's MR identifier.
    expect(placed.order.patientId).toBe('CANARY-MRN-0001');
    const contained = parseEmrEvent(JSON.stringify({ id: 'evt-o3', type: 'order.placed', occurredAt: '2026-12-04T07:00:00Z', data: { resourceType: 'ServiceRequest', status: 'active', code: { coding: [{ code: 'X' }] }, contained: [{ ...canaryPatient, id: 'p' }], subject: { reference: '#p' } } }));
    expect(contained).toMatchObject({ order: { patientId: 'CANARY-MRN-0001' } });
    const byId = parseEmrEvent(JSON.stringify({ id: 'evt-o4', type: 'order.placed', occurredAt: '2026-12-04T07:00:00Z', data: { resourceType: 'ServiceRequest', status: 'active', code: { coding: [{ code: 'X' }] }, subject: { reference: 'Patient/emr-77' } } }));
    expect(byId).toMatchObject({ order: { patientId: 'emr-77' } });

    const lone = { resourceType: 'ServiceRequest', status: 'revoked', code: { coding: [{ code: 'X' }] }, subject: { identifier: { value: 'CANARY-MRN-0001' } } };
    const changed = parseEmrEvent(JSON.stringify({ id: 'evt-o2', type: 'order.changed', occurredAt: '2026-12-04T07:00:00Z', data: lone }));
    expect(changed).toMatchObject({ type: 'order.changed', order: { serviceRequests: [lone], patientId: 'CANARY-MRN-0001' } });
  });

  test('order events that are not usable name the field, never a value', () => {
    const event = (data: unknown) => ({ id: 'evt-o', type: 'order.placed', occurredAt: '2026-12-04T07:00:00Z', data });
    const request = (monitoringOrderBundle().entry as { resource: Record<string, unknown> }[])[2]!.resource;
    expect(fieldOf(event(canaryPatient))).toBe('data.resourceType');
    expect(fieldOf(event({ resourceType: 'Bundle', entry: [] }))).toBe('data.entry');
    expect(fieldOf(event({ resourceType: 'Bundle', entry: [{ resource: canaryPatient }] }))).toBe('data.entry');
    expect(fieldOf(event({ ...request, status: 'pending' }))).toBe('data.status');
    expect(fieldOf(event({ ...request, code: { coding: [] } }))).toBe('data.code.coding');
    expect(fieldOf(event({ resourceType: 'Bundle', entry: [{ resource: canaryPatient }, { resource: { ...request, subject: undefined } }] }))).toBe('data.entry[1].resource.subject');
  });

  test('charge.posted → typed charge with cents', () => {
    expect(parseEmrEvent(JSON.stringify(charge))).toEqual({
      id: 'evt-charge-1',
      type: 'charge.posted',
      occurredAt: '2025-03-18T17:00:00-04:00',
      charge: { chargeId: 'CHG-0001', patientId: 'CANARY-MRN-0001', accountId: 'ACCT-IVF-0318', code: '58970', quantity: 1, amountCents: 350000, currency: 'USD', serviceDate: '2025-03-18', diagnoses: ['N97.9'] },
    });
  });

  test('appointment.booked and appointment.changed', () => {
    const appt = { id: 'evt-a', type: 'appointment.changed', occurredAt: '2025-03-01T10:00:00Z', data: { appointmentId: 'APT-77', patientId: 'P-1', status: 'booked', start: '2025-03-23T09:00:00-04:00', serviceType: 'embryo-transfer' } };
    expect(parseEmrEvent(JSON.stringify(appt))).toMatchObject({ type: 'appointment.changed', appointment: { appointmentId: 'APT-77', status: 'booked', serviceType: 'embryo-transfer' } });
    expect(fieldOf({ ...appt, data: { ...appt.data, status: 'maybe' } })).toBe('data.status');
  });

  test('invoice.issued with lines', () => {
    const inv = { id: 'evt-i', type: 'invoice.issued', occurredAt: '2025-04-01T10:00:00Z', data: { invoiceId: 'INV-9', patientId: 'P-1', total: { value: '550.50' }, lines: [{ code: '89342', amount: { value: 550.5 } }] } };
    expect(parseEmrEvent(JSON.stringify(inv))).toMatchObject({ invoice: { totalCents: 55050, currency: 'USD', lines: [{ code: '89342', amountCents: 55050, quantity: 1 }] } });
  });

  test('invalid events name the failing field, never the value', () => {
    expect(fieldOf({ ...charge, type: 'charge.deleted' })).toBe('type');
    expect(fieldOf({ ...charge, occurredAt: '18/03/2025' })).toBe('occurredAt');
    expect(fieldOf({ ...charge, data: { ...charge.data, code: 'CANARY' } })).toBe('data.code');
    expect(fieldOf({ ...charge, data: { ...charge.data, amount: { value: 'lots' } } })).toBe('data.amount.value');
    expect(fieldOf({ ...charge, data: { ...charge.data, diagnoses: ['CANARY-DX'] } })).toBe('data.diagnoses[0]');
    expect(fieldOf({ ...charge, data: { ...charge.data, patientId: 'CANARY name with spaces' } })).toBe('data.patientId');
    expect(() => parseEmrEvent('{not json')).toThrow(EmrEventError);
  });
});
