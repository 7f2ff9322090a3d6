import { tokenCommand, type TokenCommandOptions } from './token.js';

export interface ProofCommandOptions extends TokenCommandOptions {
  url: string;
}

/**
 * The two headers another HTTP client sends to make one request as this device: the result
 * token as `Authorization: DPoP` and a DPoP proof for exactly that method and URL (with the
 * server's nonce when it asked for one). `token` with the URL required: a proof is good for one
 * request, within a minute.
 */
export async function proofCommand(opts: ProofCommandOptions): Promise<void> {
  await tokenCommand(opts);
}
