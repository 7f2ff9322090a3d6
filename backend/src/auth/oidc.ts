import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import * as client from 'openid-client';
import { isLoopbackHost } from '@postern/shared';
import type { Admin } from '../accounts/accounts.js';
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
  async finish(input: { callbackUrl: URL; boundState: string | null; now: number }): Promise<{ admin: Admin; next: string }> {
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
    const admin = await upsertAccount(this.db, { subject: `${String(claims.iss)} ${String(claims.sub)}`, claims, role });
    if (admin.disabled) throw new OidcRefused(403, `The Postern account ${admin.name} is disabled. Ask an admin to enable it.`);
    return { admin, next: flow.next_path };
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

/** The provider decides the role at every sign-in; the address follows too. A first sign-in makes the account. */
async function upsertAccount(db: Kysely<Database>, input: { subject: string; claims: Record<string, unknown>; role: AdminRole }): Promise<Admin> {
  const email = stringClaim(input.claims.email);
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('admins').select(['id', 'name', 'email', 'role', 'disabled']).where('oidc_subject', '=', input.subject).forUpdate().executeTakeFirst();
    if (existing) {
      if (existing.role === input.role && existing.email === email) return existing;
      const updated = await trx.updateTable('admins').set({ role: input.role, email }).where('id', '=', existing.id).returning(['id', 'name', 'email', 'role', 'disabled']).executeTakeFirstOrThrow();
      await appendAudits(trx, [{ actor: `admin:${existing.name}`, kind: 'admin.updated', detail: { name: existing.name, via: 'oidc', role: { from: existing.role, to: updated.role }, email: updated.email } }]);
      return updated;
    }
    let name = accountNameOf(input.claims);
    // A local account of that name is somebody else's until an admin says otherwise.
    if (await trx.selectFrom('admins').select('id').where('name', '=', name).executeTakeFirst()) name = `${name}-${hashSecret(input.subject).slice(0, 6)}`;
    const created = await trx
      .insertInto('admins')
      .values({ id: randomUUID(), name, email, role: input.role, oidc_subject: input.subject })
      .returning(['id', 'name', 'email', 'role', 'disabled'])
      .executeTakeFirstOrThrow();
    await appendAudits(trx, [{ actor: `admin:${created.name}`, kind: 'admin.created', detail: { name: created.name, email: created.email, role: created.role, via: 'oidc' } }]);
    return created;
  });
}
