import { Command } from 'commander';
import { TOOL_VERSION } from '../version.js';
import { addExamples } from './help.js';
import { completionCommand } from './commands/completion.js';
import type { CommandContext } from './context.js';
import { catalogCommand } from './commands/catalog.js';
import { gcCommand } from './commands/gc.js';
import { gcPreviewCommand } from './commands/gc-preview.js';
import { journalCommand } from './commands/journal.js';
import { pruneCommand } from './commands/prune.js';
import { quarantineCommand } from './commands/quarantine.js';
import { reportCommand } from './commands/report.js';
import { restoreCommand } from './commands/restore.js';
import { scanCommand } from './commands/scan.js';
import { usageCommand } from './commands/usage.js';
import { verifyCommand } from './commands/verify.js';
import { diffCommand } from './commands/diff.js';
import { withObjectStorageOptions } from './s3-options.js';

/** Every subcommand by name, in help order. */
const COMMANDS: ReadonlyArray<readonly [string, (ctx: CommandContext) => Command]> = [
  ['scan', scanCommand],
  ['report', reportCommand],
  ['usage', usageCommand],
  ['gc-preview', gcPreviewCommand],
  ['catalog', catalogCommand],
  ['prune', pruneCommand],
  ['gc', gcCommand],
  ['restore', restoreCommand],
  ['quarantine', quarantineCommand],
  ['journal', journalCommand],
  ['verify', verifyCommand],
  ['diff', diffCommand],
  ['completion', completionCommand],
];

export const COMMAND_NAMES: readonly string[] = COMMANDS.map(([name]) => name);

/**
 * `argv` (process.argv) whose first argument names a command defines only that command: defining all
 * of them (options, help, examples) cost ~4 ms of every start. Anything else (help, --version, a
 * misspelt command) and `completion`, which describes them all, defines every one.
 */
export function createProgram(ctx: CommandContext, argv: readonly string[] = []): Command {
  const program = new Command('regaudit')
    .description('Offline auditor for Docker Distribution (registry:2 / registry:3) filesystem storage')
    .version(TOOL_VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  const asked = argv[2];
  const one = asked !== 'completion' && COMMAND_NAMES.includes(asked ?? '');
  for (const [name, make] of COMMANDS) {
    if (one && name !== asked) continue;
    const cmd = make(ctx)
      .exitOverride()
      .configureOutput({ outputError: () => {} });
    addExamples(cmd);
    program.addCommand(cmd);
  }
  withObjectStorageOptions(program);
  return program;
}
