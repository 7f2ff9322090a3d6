import { describe, expect, it } from 'vitest';
import { addressRefusal, EMPTY_ALLOW_LIST, parseAllowList, pushUrlRefusal } from './push-address.js';
import { outcomeOf } from './push-request.js';
import { retryDelayMs } from './backoff.js';

describe('the addresses a push endpoint may use', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['fd00:ec2::254', 'unique-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'NAT64'],
    ['2002:7f00:1::', '6to4'],
  ])('refuses %s (%s)', (address, words) => {
    expect(addressRefusal(address, 'receiver.example.com', EMPTY_ALLOW_LIST)).toContain(`a ${words} address`);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('lets %s, a public unicast address, through', (address) => {
    expect(addressRefusal(address, 'receiver.example.com', EMPTY_ALLOW_LIST)).toBeNull();
  });

  it('lets through what the allow list names: a host, an address or a CIDR range, IPv4 and IPv6', () => {
    const allow = parseAllowList(' receiver.internal ,127.0.0.1, 10.20.0.0/16,[fd00::/8]', 'POSTERN_SSF_PUSH_ALLOW_HOSTS');
    expect(addressRefusal('10.99.0.1', 'receiver.internal', allow)).toBeNull();
    expect(addressRefusal('10.99.0.1', 'RECEIVER.INTERNAL', allow)).toBeNull();
    expect(addressRefusal('127.0.0.1', 'other', allow)).toBeNull();
    expect(addressRefusal('::ffff:127.0.0.1', 'other', allow)).toBeNull();
    expect(addressRefusal('127.0.0.2', 'other', allow)).toMatch(/loopback/);
    expect(addressRefusal('10.20.255.1', 'other', allow)).toBeNull();
    expect(addressRefusal('10.21.0.1', 'other', allow)).toMatch(/private/);
    expect(addressRefusal('fd12::1', 'other', allow)).toBeNull();
    expect(addressRefusal('fe80::1', 'other', allow)).toMatch(/link-local/);
  });

  it('refuses allow lists it cannot read, naming the setting and the entry', () => {
    expect(() => parseAllowList('10.0.0.0/33', 'POSTERN_SSF_PUSH_ALLOW_HOSTS')).toThrow('POSTERN_SSF_PUSH_ALLOW_HOSTS: "10.0.0.0/33" is not a CIDR range');
    expect(() => parseAllowList('bad_host!', 'POSTERN_SSF_PUSH_ALLOW_HOSTS')).toThrow('POSTERN_SSF_PUSH_ALLOW_HOSTS: "bad_host!" is neither a host name, an address nor a CIDR range');
  });

  it('wants https endpoints without credentials, and plain http only to an allowed host', () => {
    const allow = parseAllowList('127.0.0.1,receiver.test', 'X');
    expect(pushUrlRefusal('https://idp.example.com/ssf', EMPTY_ALLOW_LIST)).toBeNull();
    expect(pushUrlRefusal('http://idp.example.com/ssf', EMPTY_ALLOW_LIST)).toMatch(/must be https/);
    expect(pushUrlRefusal('http://127.0.0.1:8080/ssf', allow)).toBeNull();
    expect(pushUrlRefusal('http://receiver.test/ssf', allow)).toBeNull();
    expect(pushUrlRefusal('ftp://idp.example.com/', EMPTY_ALLOW_LIST)).toMatch(/not ftp:/);
    expect(pushUrlRefusal('https://a:b@idp.example.com/', EMPTY_ALLOW_LIST)).toMatch(/user name or password/);
    expect(pushUrlRefusal('not a url', EMPTY_ALLOW_LIST)).toMatch(/is not a URL/);
  });
});

describe('what a push answer means (RFC 8935 §2)', () => {
  it('counts 202 as delivered, 400 with err as refused for good, anything else as worth retrying', () => {
    expect(outcomeOf(202, undefined, '')).toEqual({ result: 'delivered', status: 202 });
    expect(outcomeOf(400, undefined, '{"err":"invalid_audience","description":"not us"}')).toEqual({ result: 'rejected', status: 400, err: 'invalid_audience', description: 'not us' });
    expect(outcomeOf(400, undefined, '<html>bad gateway</html>')).toMatchObject({ result: 'failed', status: 400 });
    expect(outcomeOf(503, undefined, '')).toMatchObject({ result: 'failed', error: 'the receiver answered 503' });
    expect(outcomeOf(302, 'https://elsewhere.example.com/', '')).toMatchObject({ result: 'failed', error: expect.stringMatching(/redirects are not followed/) });
  });
});

describe('the retry schedule', () => {
  it('doubles from a second up to the cap, jittered over the upper half', () => {
    const low = () => 0;
    const high = () => 1;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 300, low))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 300, high))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(40, 300, high)).toBe(300_000);
    expect(retryDelayMs(40, 300, low)).toBe(150_000);
  });
});
