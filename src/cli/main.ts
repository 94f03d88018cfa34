#!/usr/bin/env node
/** The process boundary: the only place that writes errors to stderr and sets the exit code. */
import { CommanderError } from 'commander';
import { RegauditError, sqliteCode } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { createProgram } from './program.js';
import { setTerminal } from '../report/format.js';
import { detectTerminal } from './terminal.js';

function fail(message: string): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K'); // a progress line must not stay behind
  process.stderr.write(`regaudit: ${message.split('\n')[0]}\n`);
  process.exitCode = ExitCode.Error;
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
type Handled = keyof typeof SIGNALS;

/**
 * An interrupted scan never commits its transaction, so the index keeps its previous scan; an
 * interrupted prune has only taken atomic steps. Say so, instead of dying silently.
 */
function onSignal(sig: Handled): void {
  process.stderr.write(
    `regaudit: interrupted by ${sig}; nothing half-done is kept (the index keeps its previous scan; rerun an interrupted prune or restore to finish it)\n`,
  );
  process.exit(SIGNALS[sig]);
}

function listenForSignals(on: boolean): void {
  for (const sig of Object.keys(SIGNALS) as Handled[]) {
    if (on) process.on(sig, onSignal);
    else process.off(sig, onSignal);
  }
}

async function main(): Promise<void> {
  listenForSignals(true);
  // `regaudit report --format json | head`: the reader left, so there is no one to tell; stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  setTerminal(detectTerminal(process.stdout, process.env));
  const program = createProgram(
    {
      stdout: (s) => void process.stdout.write(s),
      stderr: (s) => void process.stderr.write(s),
      now: () => Date.now(),
      setExitCode: (code) => {
        process.exitCode = code;
      },
      killableDuring: (fn) => {
        // A JS handler could only run after the synchronous work, so let the signal end it at once.
        listenForSignals(false);
        try {
          return fn();
        } finally {
          listenForSignals(true);
        }
      },
    },
    process.argv,
  );
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return; // --help, --version
      // A command run without its subcommand: commander has printed the help; that is the message.
      if (err.code === 'commander.help') {
        process.exitCode = ExitCode.Error;
        return;
      }
      // One line, suggestion included ("unknown command 'reprot' (Did you mean report?)").
      fail(err.message.replace(/^error: /, '').replace(/\n+/g, ' '));
    } else if (err instanceof RegauditError) {
      fail(err.message);
    } else if (sqliteCode(err) !== undefined) {
      // A database failure no command mapped (e.g. a corrupt page met mid-query): still one line.
      fail(`index database error: ${(err as Error).message} (if the index is corrupt, delete it and scan again)`);
    } else {
      const e = err as Error;
      fail(`internal error: ${e?.message ?? String(err)} (please report this with the command you ran)`);
      if (process.env.REGAUDIT_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
    }
  }
}

// Not a top-level await: the bundled CLI (scripts/build-cli.mjs) is CommonJS, which has none.
void main();
