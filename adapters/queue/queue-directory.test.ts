import { QueueDirectory } from './queue-directory';

test('configured names stay; flow registrations are counted and released once each', () => {
  const d = new QueueDirectory(['billing']);
  const a = d.register('lis');
  const b = d.register('lis');
  expect(d.names()).toEqual(['billing', 'lis']);
  a();
  a();
  expect(d.has('lis')).toBe(true);
  b();
  expect(d.names()).toEqual(['billing']);
  const c = d.register('billing');
  c();
  expect(d.has('billing')).toBe(true);
});

test('names that cannot be queues are refused', () => {
  expect(() => new QueueDirectory(['bad name'])).toThrow(/queue names/);
  expect(() => new QueueDirectory().register('x'.repeat(65))).toThrow(/queue names/);
});
