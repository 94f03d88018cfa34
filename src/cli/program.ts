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

/** Every subcommand, in help order. */
const COMMANDS = [
  scanCommand,
  reportCommand,
  usageCommand,
  gcPreviewCommand,
  catalogCommand,
  pruneCommand,
  gcCommand,
  restoreCommand,
  quarantineCommand,
  journalCommand,
  verifyCommand,
  diffCommand,
  completionCommand,
];

export function createProgram(ctx: CommandContext): Command {
  const program = new Command('regaudit')
    .description('Offline auditor for Docker Distribution (registry:2 / registry:3) filesystem storage')
    .version(TOOL_VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  for (const make of COMMANDS) {
    const cmd = make(ctx)
      .exitOverride()
      .configureOutput({ outputError: () => {} });
    addExamples(cmd);
    program.addCommand(cmd);
  }
  withObjectStorageOptions(program);
  return program;
}
