import { describe, expect, it } from 'vitest';
import { resolveStateDir } from './paths.js';

describe('resolveStateDir', () => {
  const base = { home: '/home/ann', platform: 'linux' as const, uid: 1000 };

  it('prefers --state over everything else', () => {
    expect(resolveStateDir({ ...base, flag: '/tmp/s', env: { POSTERN_AGENT_STATE: '/env' } })).toBe('/tmp/s');
  });

  it('uses POSTERN_AGENT_STATE when --state is absent', () => {
    expect(resolveStateDir({ ...base, env: { POSTERN_AGENT_STATE: '/env/state' } })).toBe('/env/state');
  });

  it('uses /var/lib/postern-agent for root', () => {
    expect(resolveStateDir({ ...base, uid: 0, env: {} })).toBe('/var/lib/postern-agent');
  });

  it('uses XDG_STATE_HOME for other users, and ~/.local/state without it', () => {
    expect(resolveStateDir({ ...base, env: { XDG_STATE_HOME: '/x/state' } })).toBe('/x/state/postern-agent');
    expect(resolveStateDir({ ...base, env: {} })).toBe('/home/ann/.local/state/postern-agent');
  });

  it('ignores a relative XDG_STATE_HOME, as the XDG spec says', () => {
    expect(resolveStateDir({ ...base, env: { XDG_STATE_HOME: 'rel' } })).toBe('/home/ann/.local/state/postern-agent');
  });
});
