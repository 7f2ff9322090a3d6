import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminCommandError, adminRequest } from './admin-client.js';

describe('the admin client', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  async function answering(status: number, type: string, body: string): Promise<string> {
    server = createServer((_req, res) => res.writeHead(status, { 'content-type': type }).end(body));
    await new Promise<void>((listening) => server?.listen(0, '127.0.0.1', listening));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("reports the server's problem detail and keeps its code", async () => {
    const problem = { type: 'urn:postern:problem:not_pending', title: 'Not awaiting approval', status: 409, code: 'not_pending', detail: 'device d is active, not awaiting approval' };
    const url = await answering(409, 'application/problem+json', JSON.stringify(problem));
    const refused = adminRequest({ url, token: 'pat_x' }, 'POST', '/v1/admin/devices/d/approve');
    await expect(refused).rejects.toBeInstanceOf(AdminCommandError);
    await expect(refused).rejects.toMatchObject({ message: problem.detail, code: 'not_pending' });
  });

  it('says when an error answer is not problem details, as from a proxy', async () => {
    const url = await answering(502, 'application/json', '{"message":"bad gateway"}');
    await expect(adminRequest({ url, token: 'pat_x' }, 'GET', '/v1/admin/devices')).rejects.toThrow(/HTTP 502 without problem details/);
  });
});
