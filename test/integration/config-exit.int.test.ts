import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../../config/schema';
import { ROOT, runHub, tempDataDir } from '../support/hub-process';

describe('bad configuration at start', () => {
  test('HUB_PORT=abc exits with status 2 and one line naming HUB_PORT', async () => {
    const { output, exited } = runHub({ HUB_PORT: 'abc', HUB_DATA_DIR: tempDataDir() });
    const { code } = await exited;
    expect(code).toBe(2);
    const lines = output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('HUB_PORT');
    expect(lines[0]).toContain('"abc"');
  });

  test('a bad user definition exits 2 naming the key', async () => {
    const { output, exited } = runHub({ HUB_USERS: '[{"username":"x","role":"root"}]', HUB_DATA_DIR: tempDataDir() });
    expect((await exited).code).toBe(2);
    expect(output()).toContain('HUB_USERS[0].role');
  });
});

describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  test('documents every configuration key in its table', () => {
    for (const s of SETTINGS) expect(readme).toMatch(new RegExp(`^\\| \`${s.key}\` \\|`, 'm'));
  });
  test('shows the two commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
