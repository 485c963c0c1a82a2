/**
 * Benchmark peer: stock Node-RED with a `tcp in` → function → `tcp out`
 * (reply) flow answering each MLLP frame with a minimal AA. Nothing is
 * stored: this is what an undurable Node-RED flow costs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function nodeRedTcpPeer(mllpPort: number): { userDir: string; settingsFile: string } {
  const userDir = mkdtempSync(join(tmpdir(), 'bench-nr-'));
  const ackFunction = [
    "const text = String(msg.payload).replace(/^[\\r\\n\\x0b]+/, '');",
    "const msh = text.split('\\r')[0].split('|');",
    "const ack = 'MSH|^~\\\\&|' + (msh[4]||'') + '|' + (msh[5]||'') + '|' + (msh[2]||'') + '|' + (msh[3]||'') + '|' + msh[6] + '||ACK|' + msh[9] + 'A|P|2.5.1\\rMSA|AA|' + msh[9] + '\\r';",
    "msg.payload = '\\x0b' + ack + '\\x1c\\r';",
    'return msg;',
  ].join('\n');
  const flows = [
    { id: 'benchtab', type: 'tab', label: 'bench' },
    { id: 'benchin', type: 'tcp in', z: 'benchtab', server: 'server', host: '', port: String(mllpPort), datamode: 'stream', datatype: 'utf8', newline: '\x1c', topic: '', trim: false, base64: false, tls: '', wires: [['benchfn']] },
    { id: 'benchfn', type: 'function', z: 'benchtab', func: ackFunction, outputs: 1, wires: [['benchout']] },
    { id: 'benchout', type: 'tcp out', z: 'benchtab', host: '', port: '', beserver: 'reply', base64: false, end: false, tls: '', wires: [] },
  ];
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows));
  const settingsFile = join(userDir, 'settings.js');
  writeFileSync(
    settingsFile,
    `module.exports = { uiPort: 0, uiHost: '127.0.0.1', httpAdminRoot: false, httpNodeRoot: false, flowFile: 'flows.json', userDir: ${JSON.stringify(userDir)}, logging: { console: { level: 'warn' } }, diagnostics: { enabled: false }, telemetry: { enabled: false } };\n`,
  );
  return { userDir, settingsFile };
}
