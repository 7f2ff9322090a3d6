import type { Context } from 'koa';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { escapeHtml, htmlPage } from './html-page.js';
import { sessionCookieOf, setSessionCookie } from './session-cookie.js';
import { endSession, startSession } from './sessions.js';

/**
 * Starts a session for this admin, sets its cookie and sends the browser on (303: the next request
 * is a GET). A session the browser had before ends: its cookie is replaced, so nothing should use it.
 */
export async function signIn(ctx: Context, backend: { db: Kysely<Database>; now(): number }, adminId: string, next: string): Promise<void> {
  const previous = sessionCookieOf(ctx);
  if (previous) await endSession(backend.db, previous);
  setSessionCookie(ctx, await startSession(backend.db, adminId, backend.now()));
  ctx.status = 303;
  ctx.redirect(next);
}

/** A page for a person, not a program: what is wrong (or what this is) and what to do. `advice` is HTML. */
export function htmlMessage(ctx: Context, status: number, title: string, advice: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = htmlPage(title, `<h1>${escapeHtml(title)}</h1>\n<p>${advice}</p>`);
}
