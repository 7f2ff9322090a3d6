import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.js';
import { dashboardFiles, loadDashboard } from './static-files.js';

/** A raw request, so the path goes out exactly as written (fetch would normalise `..`). */
function get(server: Server, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard files', () => {
  let dir: string;
  let server: Server;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-dashboard-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>');
    await writeFile(join(dir, 'assets', 'app-1a2b.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.txt'), 'not for the web');
    const app = new Koa();
    app.use(dashboardFiles(await loadDashboard(dir), createLogger('silent')));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'router';
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('answers index.html for the client routes, revalidated and under the strict CSP', async () => {
    for (const path of ['/', '/devices', '/devices/3fa85f64-5717-4562-b3fc-2c963f66afa6', '/policies', '/audit']) {
      const page = await get(server, path);
      expect(page.status, path).toBe(200);
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toMatch(/script-src 'self'; style-src 'self'/);
      expect(page.body).toContain('/assets/app-1a2b.js');
    }
  });

  it('serves hashed assets for a year and answers 304 to a matching ETag', async () => {
    const asset = await get(server, '/assets/app-1a2b.js');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get(server, '/assets/app-1a2b.js', { 'if-none-match': String(asset.headers.etag) })).status).toBe(304);
  });

  it('leaves every other path to the router, whatever dots or escapes it holds', async () => {
    for (const path of ['/secret.txt', '/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/..%2fsecret.txt', '/index.html', '/my-device', '/v1/nothing', '/devices/not-an-id']) {
      const answer = await get(server, path);
      expect(answer.body, path).toBe('router');
    }
  });

  it('is absent without a build, so / is the router’s', async () => {
    expect(await loadDashboard(join(dir, 'no-such-build'))).toBeNull();
    expect(await loadDashboard(null)).toBeNull();
  });
});
