import { Command, Option } from 'commander';
import { runRestore } from '../../app/quarantine.js';
import { asFormat, formatOption } from '../options.js';
import type { CommandContext } from '../context.js';

export function restoreCommand(ctx: CommandContext): Command {
  return new Command('restore')
    .description('put a quarantined batch back into storage exactly as it was (refuses repositories re-created since)')
    .argument('<batch>', 'quarantine batch directory (DIR/<batch> from prune --quarantine DIR)')
    .addOption(new Option('--root <path>', "storage root to restore into (default: the batch journal's root)"))
    .addOption(formatOption())
    .action((batch: string, o: { root?: string; format: string }) => {
      const run = (): string =>
        runRestore({
          batch,
          ...(o.root !== undefined ? { root: o.root } : {}),
          format: asFormat(o.format),
          now: ctx.now(),
        });
      ctx.stdout(ctx.killableDuring ? ctx.killableDuring(run) : run());
    });
}
