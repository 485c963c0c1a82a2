import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Hub-process tests run the compiled hub (as `npm start` does): build it once if sources changed. */
export default function globalSetup(): void {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'hub', 'tools', 'build.js'), '--if-needed'], { stdio: 'inherit', cwd: root });
}
