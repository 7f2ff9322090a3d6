import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commandLine, liveProbeContext, recordedProbeContext, recordingProbeContext } from './probe.js';

describe('liveProbeContext', () => {
  const ctx = liveProbeContext();
  const node = process.execPath;

  it('runs commands without a shell and with the C locale', async () => {
    const result = await ctx.exec(node, ['-e', 'process.stdout.write(`${process.env.LC_ALL} ${process.env.LANG} ${process.argv[1]}`)', '$HOME;echo x']);
    expect(result).toEqual({ code: 0, stdout: 'C C $HOME;echo x', stderr: '' });
  });

  it('returns the exit code and stderr of a command that fails', async () => {
    const result = await ctx.exec(node, ['-e', 'process.stderr.write("nope"); process.exit(3)']);
    expect(result).toEqual({ code: 3, stdout: '', stderr: 'nope' });
  });

  it('reports a missing command as not_found', async () => {
    expect(await ctx.exec('postern-no-such-tool', [])).toEqual({ code: null, stdout: '', stderr: '', failure: 'not_found' });
  });

  it('kills a command that outlives its timeout', async () => {
    const started = Date.now();
    const result = await ctx.exec(node, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 });
    expect(result.failure).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reads files and returns null for missing ones', async () => {
    expect(await ctx.readFile(process.platform === 'win32' ? 'C:\\nonexistent\\postern' : '/nonexistent/postern')).toBeNull();
    expect(await ctx.readFile(fileURLToPath(import.meta.url))).toContain('liveProbeContext');
  });

  it.runIf(process.platform === 'linux')('reads /proc files, whose stat size is 0', async () => {
    expect(await ctx.readFile('/proc/self/mountinfo')).toMatch(/ - /);
  });
});

describe('recordedProbeContext', () => {
  it('answers recorded commands and files and treats everything else as missing', async () => {
    const ctx = recordedProbeContext({
      commands: { 'lsblk -J': '{}', 'nft -j list ruleset': { code: 1, stdout: '', stderr: 'denied' } },
      files: { '/etc/os-release': 'ID=debian\n' },
    });
    expect(await ctx.exec('lsblk', ['-J'])).toEqual({ code: 0, stdout: '{}', stderr: '' });
    expect(await ctx.exec('nft', ['-j', 'list', 'ruleset'])).toEqual({ code: 1, stdout: '', stderr: 'denied' });
    expect(await ctx.exec('ufw', ['status'])).toEqual({ code: null, stdout: '', stderr: '', failure: 'not_found' });
    expect(await ctx.readFile('/etc/os-release')).toBe('ID=debian\n');
    expect(await ctx.readFile('/etc/shadow')).toBeNull();
  });
});

describe('recordingProbeContext', () => {
  it('keeps every answer so that a replay gives the same ones', async () => {
    const inner = recordedProbeContext({ now: 1_000, commands: { 'echo hi': 'hi\n' }, files: { '/a': 'A' } });
    const { ctx, recording } = recordingProbeContext(inner);
    await ctx.exec('echo', ['hi']);
    await ctx.exec('missing', []);
    await ctx.readFile('/a');
    await ctx.readFile('/b');
    ctx.now();
    const replay = recordedProbeContext(recording());
    expect(await replay.exec('echo', ['hi'])).toEqual(await inner.exec('echo', ['hi']));
    expect(await replay.exec('missing', [])).toEqual({ code: null, stdout: '', stderr: '', failure: 'not_found' });
    expect(await replay.readFile('/a')).toBe('A');
    expect(await replay.readFile('/b')).toBeNull();
    expect(replay.now()).toBe(1_000);
    expect(Object.keys(recording().commands ?? {})).toEqual([commandLine('echo', ['hi']), 'missing']);
  });
});
