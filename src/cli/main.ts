#!/usr/bin/env node
/** The process boundary: the only place that writes errors to stderr and sets the exit code. */
import { CommanderError } from 'commander';
import { RegauditError } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { createProgram } from './program.js';

function fail(message: string): void {
  process.stderr.write(`regaudit: ${message.split('\n')[0]}\n`);
  process.exitCode = ExitCode.Error;
}

async function main(): Promise<void> {
  const program = createProgram({
    stdout: (s) => void process.stdout.write(s),
    now: () => Date.now(),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  });
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return; // --help, --version
      fail(err.message.replace(/^error: /, ''));
    } else if (err instanceof RegauditError) {
      fail(err.message);
    } else {
      const e = err as Error;
      fail(`internal error: ${e?.message ?? String(err)} (please report this with the command you ran)`);
      if (process.env.REGAUDIT_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
    }
  }
}

await main();
