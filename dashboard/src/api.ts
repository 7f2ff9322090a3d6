/** The admin API as the dashboard calls it: same origin, the session cookie, the CSRF header on changes. */

export interface Problem {
  status: number;
  code: string;
  detail: string;
  title?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

let csrf: string | null = null;
/** A pasted admin token (before named admins exist), kept for this tab only. */
const TOKEN_KEY = 'postern.admin-token';

export function setCsrf(value: string | null): void {
  csrf = value;
}

export function adminToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setAdminToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const token = adminToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as Partial<Problem>;
    return { status: response.status, code: body.code ?? 'error', detail: body.detail ?? response.statusText, ...(body.title ? { title: body.title } : {}) };
  } catch {
    return { status: response.status, code: 'error', detail: `the server answered ${response.status} ${response.statusText}` };
  }
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    if (csrf) headers['x-csrf-token'] = csrf;
  }
  const response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!response.ok) throw new ApiError(await problemOf(response));
  return (await response.json()) as T;
}

/** A query string of the set values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
