import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../../testenv/rejection.js';
import { buildProgram } from '../program.js';
import { requestOf, type FetchCommandOptions } from './fetch.js';

/** What commander hands the fetch command for these arguments. */
async function parsed(args: string[]): Promise<{ url: string; opts: FetchCommandOptions }> {
  const program = buildProgram().exitOverride();
  const fetch = program.commands.find((c) => c.name() === 'fetch');
  let seen: { url: string; opts: FetchCommandOptions } | undefined;
  fetch?.exitOverride().configureOutput({ writeErr: () => undefined }).action((url: string, opts: FetchCommandOptions) => {
    seen = { url, opts };
  });
  await program.parseAsync(['node', 'postern-agent', 'fetch', ...args]);
  if (!seen) throw new Error('the fetch action did not run');
  return seen;
}

const readNothing = async (path: string): Promise<Uint8Array> => {
  throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
};

describe('postern-agent fetch arguments', () => {
  it('collects every -H in order, with -X and --data', async () => {
    const { url, opts } = await parsed(['https://app.example.com/items?x=1', '-X', 'put', '-H', 'Content-Type: application/json', '--header', 'X-Trace: a:b', '--data', '{"a":1}']);
    expect(url).toBe('https://app.example.com/items?x=1');
    expect(opts).toMatchObject({ request: 'put', header: ['Content-Type: application/json', 'X-Trace: a:b'], data: '{"a":1}' });
    const request = await requestOf(url, opts);
    expect(request).toEqual({
      method: 'PUT',
      url: 'https://app.example.com/items?x=1',
      headers: [['Content-Type', 'application/json'], ['X-Trace', 'a:b']],
      body: new TextEncoder().encode('{"a":1}'),
    });
  });

  it('is GET without a body, and POST with one when no -X is given, as curl does', async () => {
    expect(await requestOf('https://a.example/', {})).toMatchObject({ method: 'GET', headers: [], body: undefined });
    expect(await requestOf('https://a.example/', { data: 'x=1' })).toMatchObject({ method: 'POST' });
  });

  it('reads --data @file as the bytes of the file, and says which file it cannot read', async () => {
    const bytes = new Uint8Array([0, 255, 10]);
    expect((await requestOf('https://a.example/', { data: '@body.bin' }, async (path) => (path === 'body.bin' ? bytes : new Uint8Array()))).body).toEqual(bytes);
    expect(await rejectionOf(requestOf('https://a.example/', { data: '@missing.json' }, readNothing))).toMatchObject({ code: 'data_unreadable', message: expect.stringMatching(/^cannot read --data @missing\.json \(ENOENT/) });
  });

  it('refuses what it cannot send as meant, before anything is signed', async () => {
    const refused = async (url: string, opts: FetchCommandOptions) => (await rejectionOf(requestOf(url, opts))) as { code: string; message: string };
    expect(await refused('app.example.com/x', {})).toMatchObject({ code: 'bad_url' });
    expect(await refused('ftp://app.example.com/x', {})).toMatchObject({ code: 'bad_url', message: expect.stringMatching(/not ftp:/) });
    expect(await refused('https://a.example/', { header: ['no colon here'] })).toMatchObject({ code: 'bad_header', message: expect.stringMatching(/'Name: value'/) });
    expect(await refused('https://a.example/', { header: ['Authorization: Bearer x'] })).toMatchObject({ code: 'bad_header', message: expect.stringMatching(/sends its own Authorization/) });
    expect(await refused('https://a.example/', { header: ['dpop: x'] })).toMatchObject({ code: 'bad_header' });
    expect(await refused('https://a.example/', { request: 'GET /x' })).toMatchObject({ code: 'bad_method' });
    expect(await refused('https://a.example/', { request: 'GET', data: 'x' })).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/GET cannot carry/) });
  });

  it('requires the URL', async () => {
    await expect(parsed([])).rejects.toThrow(/missing required argument 'url'/);
  });
});
