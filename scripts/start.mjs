#!/usr/bin/env node
// The quick start's main job: the backend on the embedded database, this machine's own agent
// enrolled against it, and its verdict printed after every report. Ctrl-C stops both cleanly;
// the next start finds the same device and data in .postern/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const home = resolve(process.env.POSTERN_HOME ?? join(root, '.postern'));
const dataDir = join(home, 'server');
const agentState = join(home, 'agent');
const port = process.env.POSTERN_PORT ?? '8700';
const serverBin = join(root, 'backend/bin/postern-server.js');
const agentBin = join(root, 'agent/bin/postern-agent.js');

mkdirSync(home, { recursive: true, mode: 0o700 });
const serverLog = join(home, 'server.log');

/** Stops everything; `await fail(…)` also halts the steps below it while the children stop. */
function fail(message) {
  process.stderr.write(`\npostern: ${message}\n`);
  shutdown(1);
  return new Promise(() => {});
}

const server = spawn(process.execPath, [serverBin, 'serve', '--port', port, '--data', dataDir], {
  env: { ...process.env, POSTERN_LOG_LEVEL: process.env.POSTERN_LOG_LEVEL ?? 'info' },
  stdio: ['ignore', 'pipe', openSync(serverLog, 'a')],
});
let agent = null;
let stopping = false;

server.on('exit', (code) => {
  if (!stopping) fail(`postern-server exited (code ${code}); its log is ${serverLog}`);
});

const url = await new Promise((resolveUrl) => {
  let out = '';
  server.stdout.on('data', (chunk) => {
    out += chunk.toString();
    const match = /ready at (http:\/\/\S+)/.exec(out);
    if (match) resolveUrl(match[1]);
  });
});

process.stdout.write(`\nPostern server: ${url}\n  data: ${dataDir} (embedded PostgreSQL)\n  log:  ${serverLog}\n  admin: node_modules/.bin/postern-server device list --data ${dataDir}\n`);
// A one-time link that opens the dashboard signed in as the first admin.
const link = spawnSync(process.execPath, [serverBin, 'admin', 'sign-in-link', '--data', dataDir], { encoding: 'utf8' });
if (link.status === 0) {
  process.stdout.write(`  dashboard: ${link.stdout.trim()}\n    (signs this browser in; works once, for 10 minutes; another: node_modules/.bin/postern-server admin sign-in-link --data ${dataDir})\n\n`);
} else {
  process.stdout.write(`  dashboard: no sign-in link (${link.stderr.trim()})\n\n`);
}

if (!existsSync(join(agentState, 'device.json'))) {
  const token = spawnSync(process.execPath, [serverBin, 'token', 'create', '--group', 'employees', '--expires', '10m', '--json', '--data', dataDir], { encoding: 'utf8' });
  if (token.status !== 0) await fail(`could not create an enrollment token: ${token.stderr.trim()}`);
  const { token: enrollmentToken } = JSON.parse(token.stdout);
  // The token goes through the environment, not the process list.
  const enroll = spawnSync(process.execPath, [agentBin, 'enroll', '--server', url, '--state', agentState], {
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, POSTERN_ENROLL_TOKEN: enrollmentToken },
  });
  if (enroll.status !== 0) await fail('enrolling this machine failed (see above)');
} else {
  process.stdout.write(`This machine is already enrolled (state in ${agentState}).\n`);
}

process.stdout.write('Streaming this device\'s posture; Ctrl-C stops.\n\n');
agent = spawn(process.execPath, [agentBin, 'run', '--state', agentState], { stdio: ['ignore', 'inherit', 'inherit'] });
agent.on('exit', (code) => {
  if (!stopping) fail(`postern-agent exited (code ${code})`);
});

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const children = [agent, server].filter((c) => c && c.exitCode === null);
  let left = children.length;
  if (left === 0) process.exit(code);
  for (const child of children) {
    child.once('exit', () => {
      if (--left === 0) process.exit(code);
    });
    child.kill('SIGTERM');
  }
  setTimeout(() => process.exit(code), 10_000).unref();
}

// A terminal's Ctrl-C reaches this process from the terminal and again from pnpm: act once.
process.on('SIGINT', () => {
  if (!stopping) process.stdout.write('\nStopping…\n');
  shutdown(0);
});
process.on('SIGTERM', () => shutdown(0));
