#!/usr/bin/env node
'use strict';
// Docker HEALTHCHECK: GET /healthz on the hub's own port, over TLS when the
// hub serves TLS (its certificate is usually not trusted by the container).
const port = Number(process.env.HUB_PORT || 1880);
const tls = Boolean(process.env.HUB_TLS_CERT_FILE);
const mod = tls ? require('node:https') : require('node:http');
const req = mod.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
