import type { Context } from 'koa';
import type { Kysely } from 'kysely';
import { authenticateGateway, hasScope, type Gateway } from '../gateways/gateway-keys.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import type { Database } from '../store/schema.js';

/** The receiver calling: a gateway key with the `ssf` scope (RFC 6750 bearer); 401 without a valid key, 403 insufficient_scope without the scope. */
export async function authenticateReceiver(ctx: Context, db: Kysely<Database>): Promise<Gateway> {
  const presented = credentialOf(ctx, 'Bearer');
  const gateway = presented ? await authenticateGateway(db, presented) : null;
  if (!gateway) {
    throw new HttpError('unauthorized', 'a gateway key with the ssf scope is required as "Authorization: Bearer <key>" (create one with `postern-server gateway-key create --name NAME --scope ssf`)', {
      headers: { 'www-authenticate': presented ? 'Bearer error="invalid_token"' : 'Bearer' },
    });
  }
  if (!hasScope(gateway, 'ssf')) {
    throw new HttpError('insufficient_scope', `the gateway key "${gateway.name}" may not use Shared Signals streams: create a key with \`--scope ssf\``, {
      headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="ssf"' },
    });
  }
  return gateway;
}
