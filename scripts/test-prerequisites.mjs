#!/usr/bin/env node
// Run by the root `test` script before anything is built: makes sure the system programs the
// test suite drives are installed, so `pnpm install && pnpm test` works on a fresh Debian machine.
//
// - Everything present: one line, exit 0.
// - Something missing, running as root with apt-get: installs it from the distribution's
//   repositories (noninteractive, without letting package scripts start system services).
// - Something missing otherwise: one line naming the packages and the command, exit 1.
//
// Plain Node (no dependencies, no TypeScript) because it runs before the workspace is built.
import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const PG_MAJOR = 15;
const PG_BINDIR = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
const CREATECLUSTER_CONF = '/etc/postgresql-common/createcluster.conf';
const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const APT_OPTIONS = ['-y', '-q', '--no-install-recommends'];

/**
 * What the tests need from the system: a row per program. `present` returns where it was found
 * (or a reason it is not needed), or undefined; `beforeInstall` runs after `apt-get update`.
 */
const prerequisites = [
  {
    what: `PostgreSQL ${PG_MAJOR} server`,
    present: () =>
      // The test run then uses that server (test global setup) or those binaries instead.
      (process.env.POSTERN_TEST_DATABASE_URL && 'POSTERN_TEST_DATABASE_URL is set') ||
      [process.env.POSTERN_TEST_PG_BINDIR, PG_BINDIR].find((dir) => dir && ['initdb', 'postgres'].every((name) => isExecutable(join(dir, name)))),
    debianPackage: `postgresql-${PG_MAJOR}`,
    beforeInstall: withoutMainCluster,
  },
  {
    what: 'nginx',
    present: () => findExecutable('nginx', ['/usr/sbin', '/usr/local/sbin', '/opt/homebrew/bin']),
    debianPackage: 'nginx',
  },
  {
    // The second real gateway of the end-to-end tests (forward_auth).
    what: 'caddy',
    present: () => findExecutable('caddy', ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']),
    debianPackage: 'caddy',
  },
  {
    // The TLS tests make a throwaway CA and server certificates with it.
    what: 'openssl',
    present: () => findExecutable('openssl', ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin']),
    debianPackage: 'openssl',
  },
  {
    // The package tests check the agent's .deb with it.
    what: 'lintian',
    present: () => findExecutable('lintian', ['/usr/bin', '/usr/local/bin']),
    debianPackage: 'lintian',
  },
  {
    // scripts/package.mjs strips the Node.js runtime (lintian refuses an unstripped binary).
    what: 'strip',
    present: () => findExecutable('strip', ['/usr/bin', '/usr/local/bin']),
    debianPackage: 'binutils',
  },
  {
    // The contractor's install line, which the e2e test runs as pasted, downloads with curl.
    what: 'curl',
    present: () => findExecutable('curl', ['/usr/bin', '/usr/local/bin']),
    debianPackage: 'curl',
  },
  {
    // The dashboard's end-to-end tests drive it in headless Chromium (playwright-core).
    what: 'Chromium',
    present: () => findExecutable('chromium', ['/usr/bin']),
    debianPackage: 'chromium',
  },
];

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` in `dirs` or on PATH (ordinary users often lack /usr/sbin there). */
function findExecutable(name, dirs = []) {
  const path = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...dirs, ...path].map((dir) => join(dir, name)).find(isExecutable);
}

let interrupted;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => (interrupted = signal));

function run(command, args) {
  console.log(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.error) throw result.error;
  if (interrupted || result.signal) throw new Error(`${command} stopped by ${interrupted ?? result.signal}`);
  if (result.status !== 0) throw new Error(`${[command, ...args].join(' ')} exited with ${result.status}`);
}

/**
 * As the official postgres Docker image does: postgresql-common first, told not to create the
 * default `main` cluster, because the test run starts a throwaway cluster of its own.
 */
function withoutMainCluster() {
  run('apt-get', ['install', ...APT_OPTIONS, 'postgresql-common']);
  const conf = readFileSync(CREATECLUSTER_CONF, 'utf8');
  const line = /^#?\s*create_main_cluster\s*=.*$/m;
  writeFileSync(CREATECLUSTER_CONF, line.test(conf) ? conf.replace(line, 'create_main_cluster = false') : `${conf}\ncreate_main_cluster = false\n`);
}

/** Runs `install` with invoke-rc.d refusing to start services, unless the machine already refuses. */
function withoutServiceStarts(install) {
  const ours = !existsSync(POLICY_RC_D);
  if (ours) {
    writeFileSync(POLICY_RC_D, '#!/bin/sh\n# Written by postern scripts/test-prerequisites.mjs while it installs packages.\nexit 101\n');
    chmodSync(POLICY_RC_D, 0o755);
  }
  try {
    install();
  } finally {
    if (ours) rmSync(POLICY_RC_D, { force: true });
  }
}

// package.json's engines field only warns (.npmrc engine-strict=false); the tests need 20.10.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 10)) {
  console.error(`test prerequisites: Node >= 20.10 is required, found ${process.versions.node}`);
  process.exit(1);
}

const missing = [];
const found = [];
for (const p of prerequisites) {
  const where = p.present();
  if (where) found.push(`${p.what} (${where})`);
  else missing.push(p);
}
if (found.length) console.log(`test prerequisites present: ${found.join(', ')}`);
if (!missing.length) process.exit(0);

const packages = missing.map((p) => p.debianPackage);
const names = missing.map((p) => p.what).join(', ');
const hasApt = Boolean(findExecutable('apt-get'));
if (process.getuid?.() !== 0 || !hasApt) {
  const how = hasApt
    ? `run the test command as root to install them, or: sudo apt-get update && sudo apt-get install ${APT_OPTIONS.join(' ')} ${packages.join(' ')}`
    : 'install them with your package manager';
  console.error(`test prerequisites missing: ${names} (Debian packages: ${packages.join(' ')}); ${how}`);
  process.exit(1);
}

console.log(`test prerequisites missing: ${names}; installing ${packages.join(' ')} with apt-get`);
try {
  withoutServiceStarts(() => {
    run('apt-get', ['update', '-q']);
    for (const p of missing) p.beforeInstall?.();
    run('apt-get', ['install', ...APT_OPTIONS, ...packages]);
  });
} catch (error) {
  console.error(`test prerequisites: installing ${packages.join(' ')} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(interrupted ? 130 : 1);
}

const still = missing.filter((p) => !p.present()).map((p) => p.what);
if (still.length) {
  console.error(`test prerequisites: installed ${packages.join(' ')} but still missing: ${still.join(', ')}`);
  process.exit(1);
}
console.log(`test prerequisites installed: ${packages.join(' ')}`);
