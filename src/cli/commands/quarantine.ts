import { Command, Option } from 'commander';
import { asFormat, formatOption, parseDuration } from '../options.js';
import type { CommandContext } from '../context.js';

export function quarantineCommand(ctx: CommandContext): Command {
  const cmd = new Command('quarantine').description('list or purge the batches prune --quarantine DIR moved aside');
  // Nested commands do not inherit the program's settings: errors must reach cli/main.ts too.
  const add = (sub: Command): void =>
    void cmd.addCommand(sub.exitOverride().configureOutput({ outputError: () => {} }));
  add(
    new Command('list')
      .description('list the batches in DIR')
      .argument('<dir>', 'quarantine directory')
      .addOption(formatOption())
      .action(async (dir: string, o: { format: string }) => {
        const { runQuarantineList } = await import('../../app/quarantine.js');
        ctx.stdout(runQuarantineList({ dir, format: asFormat(o.format) }));
      }),
  );
  add(
    new Command('purge')
      .description('delete finished batches older than a duration (dry run unless --apply; unfinished ones are kept)')
      .argument('<dir>', 'quarantine directory')
      .addOption(
        new Option(
          '--older-than <duration>',
          'purge batches finished (or restored) longer ago than this, e.g. 30d',
        ).makeOptionMandatory(),
      )
      .addOption(new Option('--apply', 'delete; without it nothing on disk changes').conflicts('dryRun'))
      // The default since every deleting command became a dry run unless --apply; kept for old scripts.
      .addOption(new Option('--dry-run', 'only show what would be purged (the default)').hideHelp())
      .addOption(formatOption())
      .action(async (dir: string, o: { olderThan: string; apply?: boolean; format: string }) => {
        const olderThanMs = parseDuration(o.olderThan, '--older-than');
        const { runQuarantinePurge } = await import('../../app/quarantine.js');
        const run = (): string =>
          runQuarantinePurge({
            dir,
            olderThanMs,
            dryRun: !o.apply,
            format: asFormat(o.format),
            now: ctx.now(),
          });
        ctx.stdout(ctx.killableDuring ? ctx.killableDuring(run) : run());
      }),
  );
  return cmd;
}
