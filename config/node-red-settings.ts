import type { RequestHandler } from 'express';
import type { Role } from './schema';

/** What Node-RED's adminAuth needs to know about a user. */
export interface NodeRedUser {
  username: string;
  permissions: string | string[];
}

export interface NodeRedSettingsOptions {
  userDir: string;
  flowFile: string;
  nodesDir: string;
  credentialSecret: string;
  httpNodeRoot: string;
  sessionTtlSeconds: number;
  users: (username: string) => Promise<NodeRedUser | null>;
  authenticate: (username: string, password: string) => Promise<NodeRedUser | null>;
  tokens: (token: string) => Promise<NodeRedUser | null>;
  httpNodeAuth: RequestHandler;
  log: (level: 'debug' | 'info' | 'warn' | 'error', text: string) => void;
  audit: (msg: { level: number; event?: string }) => void;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const NODE_RED_LEVEL: Record<number, 'debug' | 'info' | 'warn' | 'error'> = { 10: 'error', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'debug' };

/**
 * Node-RED's settings for the embedded runtime. Editor and admin API at `/`,
 * always behind login; http-in endpoints under `httpNodeRoot` behind an API
 * token; palette installs off (a clinic's hub runs what was reviewed).
 */
export function nodeRedSettings(o: NodeRedSettingsOptions): Record<string, unknown> {
  return {
    httpAdminRoot: '/',
    httpNodeRoot: o.httpNodeRoot,
    userDir: o.userDir,
    flowFile: o.flowFile,
    flowFilePretty: true,
    nodesDir: [o.nodesDir],
    credentialSecret: o.credentialSecret,
    adminAuth: {
      type: 'credentials',
      sessionExpiryTime: o.sessionTtlSeconds,
      users: o.users,
      authenticate: o.authenticate,
      tokens: o.tokens,
      tokenHeader: 'authorization',
    },
    httpNodeMiddleware: o.httpNodeAuth,
    functionExternalModules: false,
    externalModules: { palette: { allowInstall: false, allowUpdate: false, allowUpload: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    runtimeState: { enabled: false, ui: false },
    editorTheme: {
      page: { title: 'IVF Interface Hub' },
      header: { title: 'IVF Interface Hub' },
      palette: { categories: ['IVF hub', 'common', 'function', 'network', 'sequence', 'parser', 'storage'] },
      projects: { enabled: false },
      tours: false,
      menu: { 'menu-item-help': { label: 'IVF hub monitor', url: '/monitor' } },
    },
    logging: {
      hub: {
        level: o.logLevel === 'debug' ? 'debug' : o.logLevel,
        metrics: false,
        audit: false,
        handler: () => (msg: { level: number; msg?: unknown; type?: string; id?: string }) => {
          const text = typeof msg.msg === 'string' ? msg.msg : msg.msg instanceof Error ? msg.msg.message : JSON.stringify(msg.msg);
          o.log(NODE_RED_LEVEL[msg.level] ?? 'info', msg.type ? `[${msg.type}${msg.id ? ':' + msg.id : ''}] ${text}` : text);
        },
      },
      hubAudit: {
        level: 'off',
        audit: true,
        handler: () => o.audit,
      },
    },
  };
}

export type { Role };
