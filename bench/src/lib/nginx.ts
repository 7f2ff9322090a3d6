/**
 * Debian's nginx as the load balancer in front of several postern-server replicas: one
 * upstream (least_conn, keep-alive connections to the replicas), WebSocket upgrades passed
 * through, and an access log of status and replica per request, read back to count answers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild, track } from './children.js';
import { processTree } from './proc.js';
import { RAISE_FILE_LIMIT } from './server.js';

const BINARIES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/opt/homebrew/bin/nginx'];

export interface NginxOptions {
  /** Its prefix: configuration, logs, pid file. */
  dir: string;
  /** Loopback port to listen on (the replicas' public URL names it, so it is chosen before they start). */
  port: number;
  /** The replicas, `host:port` each. */
  upstreams: string[];
}

/** One line of the access log. */
export interface AccessLogEntry {
  status: number;
  /** Every replica tried, in order (nginx retries an idempotent request on the next one after an error). */
  upstreams: string[];
  path: string;
}

export class BenchNginx {
  /** Its workers, by pid: they outlive a master killed with SIGKILL (an interrupted run), so the bench ends them on exit. */
  private workers: number[] = [];
  private readonly endWorkers = () => {
    for (const pid of this.workers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    private readonly dir: string,
  ) {}

  static async start(options: NginxOptions): Promise<BenchNginx> {
    const binary = BINARIES.find((p) => spawnSync(p, ['-v']).status === 0);
    if (!binary) throw new Error('the replicas scenario needs nginx (Debian: apt-get install nginx)');
    const conf = join(options.dir, 'nginx.conf');
    writeFileSync(conf, configuration(options));
    const test = spawnSync(binary, ['-t', '-p', options.dir, '-c', conf], { encoding: 'utf8' });
    if (test.status !== 0) throw new Error(`nginx refused the configuration it was given (${conf}): ${test.stderr}`);
    const errors = openSync(join(options.dir, 'stderr.log'), 'a');
    // `exec` keeps the pid: the process measured (and stopped) is nginx's master itself.
    const child = spawn('/bin/sh', ['-c', `${RAISE_FILE_LIMIT}; exec "$@"`, 'sh', binary, '-p', options.dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', errors] });
    closeSync(errors);
    track(child);
    const nginx = new BenchNginx(child, `http://127.0.0.1:${options.port}`, options.dir);
    await nginx.ready();
    nginx.workers = nginx.pids().filter((pid) => pid !== nginx.pid);
    process.once('exit', nginx.endWorkers);
    // A master that dies without its workers leaves them holding the port: end them now.
    child.once('exit', (_code, signal) => {
      if (signal === 'SIGKILL') nginx.endWorkers();
    });
    return nginx;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The master and its workers. */
  pids(): number[] {
    return processTree(this.pid);
  }

  /** What the access log holds so far (nginx writes it out every second and when it stops). */
  accessLog(): AccessLogEntry[] {
    let text = '';
    try {
      text = readFileSync(join(this.dir, 'access.log'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => {
        // `$status $request_uri $upstream_addr`; the last lists every replica tried, ", " between them.
        const [status = '0', uri = '', ...tried] = line.split(' ');
        const upstreams = tried.join(' ');
        return { status: Number(status), upstreams: upstreams === '-' || upstreams === '' ? [] : upstreams.split(/,\s*/), path: uri.split('?')[0] ?? '' };
      });
  }

  /** SIGTERM: the workers close their connections, write out the access log and exit, then the master. */
  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM', 15_000);
    // The workers are gone now (a master killed after the grace took them along, above): their pids may be reused.
    this.workers = [];
    process.removeListener('exit', this.endWorkers);
  }

  private async ready(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (this.child.exitCode !== null) break;
      try {
        await fetch(`${this.url}/healthz`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const log = (name: string) => {
      try {
        return readFileSync(join(this.dir, name), 'utf8');
      } catch {
        return '';
      }
    };
    throw new Error(`nginx did not start: ${log('stderr.log')}${log('error.log')}`);
  }
}

/**
 * The most files a process here may open: nginx starts with its soft limit raised that far
 * (RAISE_FILE_LIMIT), and a worker holds a client's and a replica's socket per stream.
 */
function hardFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.split(/\s{2,}/)[2];
  return hard === undefined || hard === 'unlimited' ? 1_048_576 : Math.min(1_048_576, Number(hard) || 1024);
}

/**
 * The load balancer's configuration. `least_conn` sends each new connection to the replica
 * holding the fewest: agents' streams are long-lived, so round robin would drift as they
 * come and go. Upstream keep-alive needs HTTP/1.1 and an empty Connection header, except on
 * an upgrade; the replicas (Node) close idle connections after 5 s, so nginx lets go sooner.
 * A replica is never marked failed (max_fails=0): an error must show in the counts, not move
 * load. Temporary files are off: nothing here is large, and the workers run unprivileged.
 */
function configuration({ dir, port, upstreams }: NginxOptions): string {
  return `worker_processes auto;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;

events {
  worker_connections ${Math.min(hardFileLimit(), 65_536)};
  multi_accept on;
}

http {
  log_format replicas '$status $request_uri $upstream_addr';
  access_log ${join(dir, 'access.log')} replicas buffer=256k flush=1s;
  client_body_temp_path ${join(dir, 'client_body_temp')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};

  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' '';
  }

  upstream postern {
    least_conn;
${upstreams.map((u) => `    server ${u} max_fails=0;`).join('\n')}
    keepalive 128;
    keepalive_timeout 4s;
  }

  server {
    listen 127.0.0.1:${port} backlog=4096;

    location / {
      proxy_pass http://postern;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      # The replicas trust one proxy (POSTERN_TRUST_PROXY=1): these name the client and the URL it asked for.
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      # Agents ping every 60 s: a stream may be quiet that long.
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}
