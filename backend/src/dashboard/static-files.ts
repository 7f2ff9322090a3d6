import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import type { Middleware } from 'koa';
import type { Logger } from '../logging/logger.js';

/**
 * The dashboard under the strict policy its client is built for: scripts, styles and requests
 * from this origin only, nothing inline, no eval, no framing.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The client's own routes (dashboard/src/main.tsx): answered with index.html; every other path is the server's. */
const CLIENT_ROUTES = /^\/(devices(\/[0-9a-f-]{36})?|policies|enrollment|audit|gateways)?$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  /** Vite names assets by their content hash: cached for a year, never revalidated. */
  immutable: boolean;
}

export type DashboardFiles = ReadonlyMap<string, StaticFile>;

/** Where the built client is: POSTERN_DASHBOARD_DIR, else the installed @postern/dashboard package's dist/web. */
export function dashboardDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.POSTERN_DASHBOARD_DIR) return env.POSTERN_DASHBOARD_DIR;
  try {
    const pkg = createRequire(import.meta.url).resolve('@postern/dashboard/package.json');
    return join(dirname(pkg), 'dist', 'web');
  } catch {
    return null;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * The build's files, read once into memory (a few hundred KiB): a request path is looked up
 * as a key, never joined onto a filesystem path, so no request can reach another file.
 */
export async function loadDashboard(dir: string | null): Promise<DashboardFiles | null> {
  if (!dir || !existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  for (const path of await filesUnder(dir)) {
    const body = await readFile(path);
    const key = `/${relative(dir, path).split(sep).join('/')}`;
    files.set(key, {
      body,
      type: TYPES[extname(path)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: key.startsWith('/assets/'),
    });
  }
  return files;
}

/**
 * Serves the dashboard at `/`: its hashed assets, and index.html for every client route, so a
 * reload or a shared link opens its page. Everything else falls through to the router.
 */
export function dashboardFiles(files: DashboardFiles | null, log: Logger): Middleware {
  if (!files) log.warn({ dir: dashboardDir() }, 'the dashboard is not built, so / answers 404: run `pnpm install` (or `pnpm --dir dashboard build`)');
  return async (ctx, next) => {
    if (!files || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const file = CLIENT_ROUTES.test(ctx.path) ? files.get('/index.html') : ctx.path.startsWith('/assets/') || ctx.path === '/favicon.svg' ? files.get(ctx.path) : undefined;
    if (!file) return next();
    ctx.set('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.set('etag', file.etag);
    if (file.type.startsWith('text/html')) {
      ctx.set('content-security-policy', DASHBOARD_CSP);
      ctx.set('x-frame-options', 'DENY');
      ctx.set('referrer-policy', 'no-referrer');
    }
    ctx.type = file.type;
    if (ctx.get('if-none-match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.body = file.body;
  };
}
