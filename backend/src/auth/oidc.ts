import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import * as client from 'openid-client';
import { isLoopbackHost } from '@postern/shared';
import { ADMIN_COLUMNS, isLastAdmin, LAST_ADMIN_REASON, lockEnabledAdmins, type Admin } from '../accounts/accounts.js';
import { ROLES } from '../accounts/roles.js';
import { appendAudits } from '../audit/append.js';
import type { OidcSettings } from '../config.js';
import { hashSecret } from '../secrets/secret.js';
import type { AdminRole, Database } from '../store/schema.js';

export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';
/** A sign-in must come back from the provider within this. */
const FLOW_TTL_S = 600;

/** Why a sign-in through the provider did not end in a session; `message` is for the person. */
export class OidcRefused extends Error {
  constructor(
    readonly status: 400 | 403 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The authorization code flow with PKCE, state and nonce (openid-client, which validates the ID
 * token). The provider's metadata is discovered on first use, so the server starts while it is down.
 */
export class OidcSignIn {
  private configuration: Promise<client.Configuration> | null = null;

  constructor(
    private readonly settings: OidcSettings,
    private readonly db: Kysely<Database>,
  ) {}

  /** Where to send the browser, and the state to bind to it with a cookie. */
  async start(input: { redirectUri: string; next: string; now: number }): Promise<{ url: string; state: string }> {
    const config = await this.discover();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    await this.db.deleteFrom('oidc_sign_ins').where('expires_at', '<=', new Date(input.now * 1000)).execute();
    await this.db
      .insertInto('oidc_sign_ins')
      .values({ state_hash: hashSecret(state), code_verifier: codeVerifier, nonce, next_path: input.next, expires_at: new Date((input.now + FLOW_TTL_S) * 1000) })
      .execute();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: input.redirectUri,
      scope: this.settings.scopes,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state };
  }

  /**
   * Finishes a sign-in: `callbackUrl` is the URL the provider sent the browser to (as the public
   * URL spells it), `boundState` the state of the browser's cookie. Returns the account, made or
   * brought up to date from the provider's claims, and where to go.
   */
  async finish(input: { callbackUrl: URL; boundState: string | null; now: number }): Promise<OidcAccount & { next: string }> {
    const state = input.callbackUrl.searchParams.get('state');
    if (!state || !input.boundState || state !== input.boundState) throw new OidcRefused(400, 'This sign-in did not start in this browser, or it started too long ago.');
    const flow = await this.db.deleteFrom('oidc_sign_ins').where('state_hash', '=', hashSecret(state)).returningAll().executeTakeFirst();
    if (!flow || flow.expires_at.getTime() <= input.now * 1000) throw new OidcRefused(400, `This sign-in was used already or took longer than ${FLOW_TTL_S / 60} minutes.`);
    const error = input.callbackUrl.searchParams.get('error');
    if (error) throw new OidcRefused(403, `The sign-in provider refused: ${error}${input.callbackUrl.searchParams.get('error_description') ? ` (${input.callbackUrl.searchParams.get('error_description')})` : ''}.`);

    const config = await this.discover();
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, input.callbackUrl, { pkceCodeVerifier: flow.code_verifier, expectedState: state, expectedNonce: flow.nonce, idTokenExpected: true });
      const idToken = tokens.claims();
      if (!idToken) throw new Error('no ID token');
      // Providers put groups, names and addresses in the ID token or only in userinfo.
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idToken.sub).catch(() => ({}));
      claims = { ...userinfo, ...idToken };
    } catch (cause) {
      throw new OidcRefused(502, `The answer of the sign-in provider could not be verified: ${cause instanceof Error ? cause.message : String(cause)}.`);
    }
    const role = roleOf(claims[this.settings.roleClaim], this.settings.roles);
    const who = stringClaim(claims.email) ?? stringClaim(claims.preferred_username) ?? stringClaim(claims.sub) ?? 'this account';
    if (!role) {
      throw new OidcRefused(
        403,
        `${who} is in none of the groups that give access to Postern (the "${this.settings.roleClaim}" claim holds none of ${[...this.settings.roles.keys()].join(', ')}). Ask your administrator to add you to one of them.`,
      );
    }
    const account = await upsertOidcAccount(this.db, { subject: `${String(claims.iss)} ${String(claims.sub)}`, claims, role });
    if (account.admin.disabled) throw new OidcRefused(403, `The Postern account ${account.admin.name} is disabled. Ask an admin to enable it.`);
    return { ...account, next: flow.next_path };
  }

  private discover(): Promise<client.Configuration> {
    const issuer = new URL(this.settings.issuer);
    // Plain HTTP only to a provider on this machine (tests, development); never across a network.
    const insecure = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname);
    this.configuration ??= client
      .discovery(issuer, this.settings.clientId, undefined, client.ClientSecretPost(this.settings.clientSecret), insecure ? { execute: [client.allowInsecureRequests] } : undefined)
      .catch((error: unknown) => {
        this.configuration = null;
        throw new OidcRefused(502, `The sign-in provider ${issuer.href} could not be reached or its discovery document is wrong: ${error instanceof Error ? error.message : String(error)}.`);
      });
    return this.configuration;
  }
}

/** The highest role any of the person's groups maps to; the claim may be a list or one value. */
export function roleOf(claim: unknown, mapping: ReadonlyMap<string, AdminRole>): AdminRole | null {
  const groups = Array.isArray(claim) ? claim.filter((g): g is string => typeof g === 'string') : typeof claim === 'string' ? [claim] : [];
  const ranks = groups.flatMap((g) => {
    const role = mapping.get(g);
    return role ? [ROLES.indexOf(role)] : [];
  });
  return ranks.length ? (ROLES[Math.max(...ranks)] ?? null) : null;
}

const stringClaim = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value.trim() : null);

/** An account name from the claims: the address, else the username, else the name, as letters, digits and . _ - @. */
export function accountNameOf(claims: Record<string, unknown>): string {
  const raw = stringClaim(claims.email) ?? stringClaim(claims.preferred_username) ?? stringClaim(claims.name) ?? String(claims.sub);
  const name = raw.replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 80);
  return name || 'oidc-user';
}

/** The account as a sign-in through the provider made or brought up to date; `claimedRole` is the role the provider's groups gave. */
export interface OidcAccount {
  admin: Admin;
  claimedRole: AdminRole;
}

/**
 * The provider decides the role at every sign-in, except that the last enabled admin keeps the
 * role admin (as `admin set-role` refuses); the address follows too. A first sign-in makes the
 * account: two at once (two tabs, a double click) both end as that one account.
 */
export async function upsertOidcAccount(db: Kysely<Database>, input: { subject: string; claims: Record<string, unknown>; role: AdminRole }): Promise<OidcAccount> {
  const email = stringClaim(input.claims.email);
  return db.transaction().execute(async (trx) => {
    const admins = await lockEnabledAdmins(trx);
    const existing = (await accountOfSubject(trx, input.subject)) ?? (await createOidcAccount(trx, { ...input, email }));
    if ('created' in existing) return { admin: existing.created, claimedRole: input.role };
    const kept = existing.role === 'admin' && input.role !== 'admin' && !existing.disabled && isLastAdmin(admins, existing.id);
    const role = kept ? 'admin' : input.role;
    if (!kept && existing.role === role && existing.email === email) return { admin: existing, claimedRole: input.role };
    const updated = await trx.updateTable('admins').set({ role, email }).where('id', '=', existing.id).returning(ADMIN_COLUMNS).executeTakeFirstOrThrow();
    const why = kept ? { role_claimed: input.role, reason: LAST_ADMIN_REASON } : {};
    await appendAudits(trx, [{ actor: `admin:${existing.name}`, kind: 'admin.updated', detail: { name: existing.name, via: 'oidc', role: { from: existing.role, to: updated.role }, email: updated.email, ...why } }]);
    return { admin: updated, claimedRole: input.role };
  });
}

const accountOfSubject = (trx: Kysely<Database>, subject: string): Promise<Admin | undefined> => trx.selectFrom('admins').select(ADMIN_COLUMNS).where('oidc_subject', '=', subject).forUpdate().executeTakeFirst();

/**
 * A first sign-in's account, or the one the same person's other first sign-in made meanwhile.
 * ON CONFLICT DO NOTHING waits for that other insert to commit and then yields to it, where a
 * plain insert would fail on the unique subject.
 */
async function createOidcAccount(trx: Kysely<Database>, input: { subject: string; claims: Record<string, unknown>; role: AdminRole; email: string | null }): Promise<{ created: Admin } | Admin> {
  const base = accountNameOf(input.claims);
  // A local account of that name is somebody else's until an admin says otherwise.
  for (const name of [base, `${base}-${hashSecret(input.subject).slice(0, 6)}`]) {
    const created = await trx
      .insertInto('admins')
      .values({ id: randomUUID(), name, email: input.email, role: input.role, oidc_subject: input.subject })
      .onConflict((oc) => oc.doNothing())
      .returning(ADMIN_COLUMNS)
      .executeTakeFirst();
    if (created) {
      await appendAudits(trx, [{ actor: `admin:${created.name}`, kind: 'admin.created', detail: { name: created.name, email: created.email, role: created.role, via: 'oidc' } }]);
      return { created };
    }
    const concurrent = await accountOfSubject(trx, input.subject);
    if (concurrent) return concurrent;
  }
  throw new OidcRefused(403, `The Postern accounts ${base} and ${base}-${hashSecret(input.subject).slice(0, 6)} belong to somebody else. Ask an admin to rename one of them.`);
}
