import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { helper } from '../support/node-red-helper';
import type { FlowNode } from '../support/node-red-helper';
import { fixturesOf, runFixture } from './flow-harness';

/**
 * `npm run test:flows`: every fixture beside every reference flow
 * (flows/tests/<flow>/*.json; see README "Flow tests"). Also part of `npm test`.
 */
helper.init(require.resolve('node-red'));

const FLOWS = join(__dirname, '..', '..', 'flows');
const flowFiles = readdirSync(FLOWS)
  .filter((f) => f.endsWith('.json'))
  .sort();

function load(file: string): FlowNode[] {
  return JSON.parse(readFileSync(join(FLOWS, file), 'utf8')) as FlowNode[];
}

beforeAll(async () => {
  await helper.startServer();
});

afterAll(async () => {
  await helper.stopServer();
});

describe.each(flowFiles)('reference flow %s', (file) => {
  const fixtures = fixturesOf(join(FLOWS, file));

  test('has flow tests beside it', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  for (const fixture of fixtures) {
    test(fixture.slice(fixture.lastIndexOf('/') + 1), async () => {
      const result = await runFixture(load(file), fixture);
      expect(result.failures).toEqual([]);
    });
  }
});
