/**
 * The demo product alone, in a process of its own, for the request-path
 * benchmark: a team's product runs elsewhere, so its work (routing, checking
 * the service assertion, the task's JSON) is not the unfurl handler's. Serves
 * the same DemoProduct the local system mounts, under /demo on 127.0.0.1, and
 * sends its base URL to the parent over IPC; the parent answers with the
 * service's issuer (its PUBLIC_BASE_URL) once the service runs, and the
 * product then verifies the service's assertions with the keys at
 * `${issuer}/.well-known/jwks.json`, as a team's product would. Stops when the
 * parent goes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DemoProduct } from '#local/demo-product/app.js';
import { DEMO_PREFIX } from '#local/demo-product/mount.js';

if (!process.send) {
  process.stderr.write('bench/product-process.ts runs as a forked child\n');
  process.exit(2);
}

let product: DemoProduct | undefined;
const server = createServer((req, res) => {
  if (product && req.url?.startsWith(`${DEMO_PREFIX}/`)) {
    product.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.on('message', (message: { serviceIssuer?: unknown }) => {
    if (typeof message.serviceIssuer !== 'string') return;
    product = new DemoProduct({ baseUrl: `${origin}${DEMO_PREFIX}`, serviceIssuer: message.serviceIssuer });
    process.send?.({ configured: true });
  });
  process.send?.({ baseUrl: `${origin}${DEMO_PREFIX}` });
});
process.on('disconnect', () => process.exit(0));
