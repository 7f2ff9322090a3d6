import { describe, expect, it } from 'vitest';
import { describeConnectionError } from './connection-error.js';

/** What fetch throws: a TypeError whose cause is the socket's error. */
const failed = (code: string, message: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
const words = (code: string, message = 'x', server = 'https://postern.example.com', caFile?: string) => describeConnectionError(failed(code, message), server, caFile);

describe('describeConnectionError', () => {
  it('says a server speaks plain HTTP when https:// meets it (wrong version number)', () => {
    const said = words('ERR_SSL_WRONG_VERSION_NUMBER', 'error:0A00010B:SSL routines:ssl3_get_record:wrong version number');
    expect(said).toEqual({ final: true, message: expect.stringMatching(/^https:\/\/postern\.example\.com speaks plain HTTP, not HTTPS .*: give the server .* a TLS certificate and keep https:\/\//) });
    // ws reports the same as EPROTO; on loopback, plain http:// is the other way out.
    const local = describeConnectionError(Object.assign(new Error('write EPROTO …:wrong version number:…'), { code: 'EPROTO' }), 'https://127.0.0.1:8080');
    expect(local.message).toMatch(/speaks plain HTTP.*use http:\/\/127\.0\.0\.1:8080 for this local server/);
  });

  it('names the certificate check that failed, in words', () => {
    expect(words('CERT_HAS_EXPIRED').message).toMatch(/^the TLS certificate of postern\.example\.com has expired: the server's administrator must renew it/);
    expect(words('CERT_NOT_YET_VALID').message).toMatch(/is not valid yet: check this device's date and time/);
    expect(words('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames").message).toMatch(/is for another name \(Hostname\/IP does not match.*\): use the server's name as its certificate spells it/);
  });

  it('asks for --ca on an unknown CA, or names the CA file that did not match', () => {
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
      expect(words(code)).toEqual({ final: true, message: expect.stringMatching(/signed by a certificate authority this device does not trust .*pass its certificate with --ca FILE \(or POSTERN_CA_FILE\)/) });
    }
    expect(words('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'x', 'https://p.test', '/etc/corp-ca.pem').message).toMatch(/not signed by the CA in \/etc\/corp-ca\.pem nor by one this system trusts/);
  });

  it('says "could not reach" for network failures, which are worth trying again', () => {
    expect(words('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:443')).toEqual({
      final: false,
      message: "could not reach https://postern.example.com (connect ECONNREFUSED 127.0.0.1:443): check the server URL and this device's network",
    });
  });
});
