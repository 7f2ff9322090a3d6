import { describe, expect, it } from 'vitest';
import { flagFromEnv, gatewayFromEnv, settingsFromEnv } from './config.js';

describe('server settings from the environment', () => {
  it('uses the defaults when nothing is set, and the values that are', () => {
    expect(settingsFromEnv({})).toEqual({ attestationTimeoutS: 30, enrollFailuresPerMinute: 10, sweepS: 1, attestationRetentionDays: 30, eventRetentionDays: 30, enrollAttemptsPerMinute: 300, noncesPerMinute: 600, signInsPerMinute: 60, maxUnauthenticatedStreams: 2000, maxUnauthenticatedStreamsPerAddress: 256, trustProxyHops: 1, decisionCacheMaxS: 120, decisionCacheEntries: 50_000, pgliteSharedBuffersMB: 16, pendingExpiryS: 7 * 86400, keyMaxAgeS: null });
    expect(settingsFromEnv({ POSTERN_ATTESTATION_TIMEOUT_S: '2', POSTERN_ATTESTATION_RETENTION_DAYS: '7' })).toMatchObject({ attestationTimeoutS: 2, attestationRetentionDays: 7 });
  });

  it('refuses a value that is not a positive number, naming the variable and its default', () => {
    expect(() => settingsFromEnv({ POSTERN_ATTESTATION_TIMEOUT_S: '30s' })).toThrow('POSTERN_ATTESTATION_TIMEOUT_S="30s" is not a positive number (default 30)');
    expect(() => settingsFromEnv({ POSTERN_SWEEP_S: '0' })).toThrow(/POSTERN_SWEEP_S/);
    expect(() => settingsFromEnv({ POSTERN_PGLITE_SHARED_BUFFERS_MB: '16MB' })).toThrow('POSTERN_PGLITE_SHARED_BUFFERS_MB="16MB" is not a positive whole number (default 16)');
  });

  it('reads the lifecycle durations, with off for no key age limit, and refuses what is not a duration', () => {
    expect(settingsFromEnv({ POSTERN_PENDING_EXPIRY: '12h', POSTERN_KEY_MAX_AGE: '90d' })).toMatchObject({ pendingExpiryS: 12 * 3600, keyMaxAgeS: 90 * 86400 });
    expect(settingsFromEnv({ POSTERN_KEY_MAX_AGE: 'off' })).toMatchObject({ keyMaxAgeS: null });
    expect(() => settingsFromEnv({ POSTERN_PENDING_EXPIRY: 'off' })).toThrow('POSTERN_PENDING_EXPIRY="off" is not a duration such as 12h, 7d or 90d (default 7d)');
    expect(() => settingsFromEnv({ POSTERN_KEY_MAX_AGE: '90 days' })).toThrow(/POSTERN_KEY_MAX_AGE="90 days" is not a duration .*, nor off/);
  });
});

describe('the gateway and DPoP nonce settings', () => {
  it('takes POSTERN_GATEWAY only behind a trusted proxy, and only a gateway it knows', () => {
    expect(gatewayFromEnv({})).toBeUndefined();
    expect(gatewayFromEnv({ POSTERN_GATEWAY: 'caddy', POSTERN_TRUST_PROXY: '1' })).toBe('caddy');
    expect(() => gatewayFromEnv({ POSTERN_GATEWAY: 'nginx' })).toThrow('POSTERN_GATEWAY=nginx needs POSTERN_TRUST_PROXY=1');
    expect(() => gatewayFromEnv({ POSTERN_GATEWAY: 'haproxy', POSTERN_TRUST_PROXY: '1' })).toThrow('POSTERN_GATEWAY="haproxy" is not one of nginx, caddy, traefik, envoy');
  });

  it('reads POSTERN_DPOP_NONCE as 1 or 0, and refuses anything else', () => {
    expect(flagFromEnv({}, 'POSTERN_DPOP_NONCE')).toBe(false);
    expect(flagFromEnv({ POSTERN_DPOP_NONCE: '1' }, 'POSTERN_DPOP_NONCE')).toBe(true);
    expect(flagFromEnv({ POSTERN_DPOP_NONCE: '0' }, 'POSTERN_DPOP_NONCE')).toBe(false);
    expect(() => flagFromEnv({ POSTERN_DPOP_NONCE: 'yes' }, 'POSTERN_DPOP_NONCE')).toThrow('POSTERN_DPOP_NONCE="yes" must be 1 (on) or 0 (off)');
  });
});
