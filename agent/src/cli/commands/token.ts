import { decodeJwt } from 'jose';
import { createDpopProof } from '../../dpop/proof.js';
import { AgentError } from '../../errors.js';
import { refuseClearText } from '../../net/clear-text.js';
import { loadIdentity } from '../../stream/identity.js';
import { formatTime, openState, printJson } from '../context.js';

export interface TokenCommandOptions {
  url?: string;
  method?: string;
  json?: boolean;
  state?: string;
}

/**
 * The stored EAR token and a DPoP proof for one request, so a person can reach a
 * protected resource by hand: the token alone is useless without a proof from this device's key.
 */
export async function tokenCommand(opts: TokenCommandOptions): Promise<void> {
  // The token and its proof in clear text could be read on the way and used before they arrive.
  if (opts.url) refuseClearText(parseUrl(opts.url), { what: '--url', carries: 'the result token and its DPoP proof' });
  const { store, keyStore } = openState(opts.state);
  const { key } = await loadIdentity({ store, keyStore });
  const last = await store.readLastResult();
  if (!last) throw new AgentError('no_token', 'there is no attestation result yet: run `postern-agent run --once` first');

  let exp: number | undefined;
  try {
    exp = decodeJwt(last.token).exp;
  } catch {
    throw new AgentError('bad_token', `the stored token in ${store.path('last-result.json')} is not a JWT: run \`postern-agent run --once\` to get a fresh one`);
  }
  if (exp !== undefined && exp * 1000 <= Date.now()) {
    throw new AgentError('token_expired', `the stored token expired ${formatTime(exp)}: run \`postern-agent run --once\` to get a fresh one`);
  }

  const authorization = `DPoP ${last.token}`;
  const dpop = opts.url ? await createDpopProof({ key, method: opts.method ?? 'GET', url: opts.url, accessToken: last.token }) : undefined;
  if (opts.json) {
    printJson({ authorization, ...(dpop ? { dpop } : {}), expires_at: exp ?? null });
    return;
  }
  process.stdout.write(`Authorization: ${authorization}\n`);
  if (dpop) process.stdout.write(`DPoP: ${dpop}\n`);
  else process.stderr.write('note: add --url URL (and --method) for the DPoP proof a gateway requires with this token\n');
}

function parseUrl(input: string): URL {
  try {
    return new URL(input);
  } catch {
    throw new AgentError('bad_url', `--url "${input}" is not a URL: give the full address of the request, e.g. https://app.example.com/`);
  }
}
