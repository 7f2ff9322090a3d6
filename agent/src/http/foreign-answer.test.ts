import { describe, expect, it } from 'vitest';
import { describeForeignAnswer, mediaType } from './foreign-answer.js';

const request = 'POST https://p.test/v1/enroll';
const say = (status: number, contentType: string | null = 'text/html', location?: string) => describeForeignAnswer(request, 'https://p.test', { status, contentType, location });

describe('describeForeignAnswer', () => {
  it('names a proxy or firewall for 401, 403 and 407, and asks to try again for a failing server', () => {
    expect(say(407)).toEqual({ notPostern: false, message: expect.stringMatching(/a proxy or firewall .* check its rules for https:\/\/p\.test$/) });
    expect(say(502)).toEqual({ notPostern: false, message: expect.stringMatching(/try again later$/) });
    expect(say(429, null).notPostern).toBe(false);
  });

  it('says "not a Postern server" for a 404, 405 or 501 without a Postern body, naming the URL and what was answered', () => {
    for (const status of [404, 405, 501]) {
      const words = say(status);
      expect(words.notPostern).toBe(true);
      expect(words.message).toMatch(new RegExp(`^https://p\\.test is not a Postern server: POST https://p\\.test/v1/enroll answered HTTP ${status} \\(text/html\\)`));
      expect(words.message).not.toMatch(/try again/);
    }
  });

  it('says so for an HTML page answered with 200, and for a redirect, naming where it points', () => {
    expect(say(200).message).toMatch(/is not a Postern server: .* answered HTTP 200 \(text\/html\) with a body that is not Postern's/);
    expect(say(302, null, 'https://sso.example.com/login')).toEqual({ notPostern: true, message: expect.stringMatching(/HTTP 302, a redirect to https:\/\/sso\.example\.com\/login, and the agent follows none/) });
  });
});

describe('mediaType', () => {
  it('keeps the type and drops parameters', () => {
    expect(mediaType('Text/HTML; charset=utf-8')).toBe('text/html');
    expect(mediaType('')).toBeNull();
    expect(mediaType(null)).toBeNull();
  });
});
