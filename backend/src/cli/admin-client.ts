import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { problemDetails } from '@postern/shared';
import { ADMIN_TOKEN_FILE, readAdminTokenFile } from '../admin/admin-token.js';
import { SERVER_INFO_FILE } from '../data-dir/server-info.js';
import { EXIT, type ExitCode } from './exit-codes.js';

/** A refused admin call or an unreachable server; `code` is the server's problem code when it sent one. */
export class AdminCommandError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
  }
}

export interface AdminTarget {
  url: string;
  token: string;
}

/**
 * Finds the running server and the admin token on this machine: flags and env first,
 * then the files the server wrote into its data directory.
 */
export async function resolveAdminTarget(dataDir: string, flags: { server?: string }): Promise<AdminTarget> {
  let url = flags.server ?? process.env.POSTERN_SERVER_URL;
  if (!url) {
    try {
      const info = JSON.parse(await readFile(join(dataDir, SERVER_INFO_FILE), 'utf8')) as { url?: unknown };
      if (typeof info.url === 'string') url = info.url;
    } catch {
      // fall through to the error below
    }
  }
  if (!url) throw new AdminCommandError(`no running postern-server found for data directory ${dataDir}: start it with \`postern-server serve\`, or pass --server URL`, undefined, EXIT.unreachable);
  const token = process.env.POSTERN_ADMIN_TOKEN ?? (await readAdminTokenFile(dataDir));
  if (!token) throw new AdminCommandError(`no admin token in ${join(dataDir, ADMIN_TOKEN_FILE)}: run this on the server's machine as its user, or set POSTERN_ADMIN_TOKEN`);
  return { url: url.replace(/\/+$/, ''), token };
}

export async function adminRequest<T = unknown>(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${target.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: { message?: string } }).cause?.message;
    throw new AdminCommandError(`cannot reach postern-server at ${target.url}: ${cause ?? (error as Error).message}. Is it running? (--server URL, env POSTERN_SERVER_URL)`, undefined, EXIT.unreachable);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AdminCommandError(`${target.url} answered HTTP ${response.status} with a body that is not JSON: is it a Postern server?`, undefined, EXIT.unreachable);
  }
  if (!response.ok) {
    const problem = problemDetails.safeParse(json);
    if (!problem.success) throw new AdminCommandError(`postern-server answered HTTP ${response.status} without problem details: is ${target.url} a Postern server?`, undefined, EXIT.unreachable);
    throw new AdminCommandError(problem.data.detail, problem.data.code);
  }
  return json as T;
}
