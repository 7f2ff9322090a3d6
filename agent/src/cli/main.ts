import { AgentError, reasonOf } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { buildProgram } from './program.js';

/**
 * Entry point of `postern-agent` (bin/postern-agent.js imports this file).
 * Every failure ends as one line on stderr and a non-zero exit status.
 */
async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof AgentError) {
      process.stderr.write(`postern-agent: ${err.message}\n`);
      process.exitCode = err.code === 'revoked' ? ExitCode.revoked : ExitCode.error;
      return;
    }
    process.stderr.write(`postern-agent: unexpected error: ${reasonOf(err)}\n`);
    if (process.env.POSTERN_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = ExitCode.error;
  }
}

await main(process.argv);
