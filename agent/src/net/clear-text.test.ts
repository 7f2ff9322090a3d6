import { describe, expect, it } from 'vitest';
import { normalizeServerUrl } from '../enrollment/server-url.js';
import { isLoopbackHost } from './clear-text.js';

const hostOf = (url: string) => new URL(url).hostname;

describe('isLoopbackHost', () => {
  it('is true for localhost, 127.0.0.0/8 and ::1 as URL spells them', () => {
    for (const url of ['http://localhost:8080', 'http://LOCALHOST', 'http://127.0.0.1', 'http://127.1.2.3:9', 'http://[::1]:3000', 'http://127.1']) {
      expect(isLoopbackHost(hostOf(url)), url).toBe(true);
    }
  });

  it('is false for every other address and name, even ones that may resolve to loopback', () => {
    for (const url of ['http://192.0.2.1', 'http://10.0.0.1', 'http://[::2]', 'http://[::ffff:127.0.0.1]', 'http://localhost.example.com', 'http://127.0.0.1.nip.io', 'http://0.0.0.0']) {
      expect(isLoopbackHost(hostOf(url)), url).toBe(false);
    }
  });
});

describe('normalizeServerUrl', () => {
  it('refuses http:// to another machine, saying why and what to do', () => {
    expect(() => normalizeServerUrl('http://192.0.2.1:8080/')).toThrow(
      /^refusing the server URL http:\/\/192\.0\.2\.1:8080: over http:\/\/ the enrollment token and every report cross the network in clear text, where anyone on the way can read and use them; use https:\/\/ .*or a loopback address/,
    );
    expect(() => normalizeServerUrl('http://postern.example.com')).toThrow(expect.objectContaining({ code: 'insecure_server' }));
  });

  it('accepts https:// anywhere and http:// to this machine, as given', () => {
    expect(normalizeServerUrl('https://postern.example.com/')).toBe('https://postern.example.com');
    expect(normalizeServerUrl('http://localhost:8080/')).toBe('http://localhost:8080');
    expect(normalizeServerUrl('http://127.0.0.1:8080/postern/')).toBe('http://127.0.0.1:8080/postern');
    expect(normalizeServerUrl('http://[::1]:8080')).toBe('http://[::1]:8080');
  });
});
