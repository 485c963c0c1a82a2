import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { helper } from '../support/node-red-helper';
import type { FlowNode } from '../support/node-red-helper';
import { fixturesOf, runFixture } from './flow-harness';

helper.init(require.resolve('node-red'));

const FLOW = join(__dirname, '..', '..', 'flows', 'http-intake.json');

function flow(): FlowNode[] {
  return JSON.parse(readFileSync(FLOW, 'utf8')) as FlowNode[];
}

describe('flow tests catch a changed flow before it is deployed', () => {
  beforeAll(async () => {
    await helper.startServer();
  });

  afterAll(async () => {
    await helper.stopServer();
  });

  const [fixture] = fixturesOf(FLOW);

  test('the shipped flow passes its fixture', async () => {
    expect((await runFixture(flow(), fixture!)).failures).toEqual([]);
  });

  test('a changed mapping (the answer code set by a change node) fails the same fixture, naming the node and the path', async () => {
    const changed = flow().map((n) =>
      n.type === 'change' && n.name === '202 with id'
        ? { ...n, rules: (n.rules as { p: string; to: string }[]).map((r) => (r.p === 'statusCode' ? { ...r, to: '200' } : r)) }
        : n,
    );
    const result = await runFixture(changed, fixture!);
    expect(result.failures).toEqual(['a1f0c0de00000005: msg.statusCode is 200, expected 202']);
  });

  test('a broken wire (the message never reaches the destination) fails with "received nothing"', async () => {
    const broken = flow().map((n) => (n.type === 'store-record' ? { ...n, wires: [[]] } : n));
    const result = await runFixture(broken, fixture!);
    expect(result.failures).toEqual([expect.stringMatching(/^a1f0c0de00000005: received nothing within \d+ ms$/)]);
  });
});
