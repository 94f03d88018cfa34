import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { asFormat, dbFileOf, dbOption, formatOption } from '../options.js';
import type { CommandContext } from '../context.js';

export function journalCommand(ctx: CommandContext): Command {
  return new Command('journal')
    .description('show the prune journal kept in the index: runs, or one run with every planned action and its outcome')
    .addOption(dbOption())
    .addOption(formatOption())
    .addOption(new Option('--run <id>', 'one run in detail'))
    .addOption(new Option('--limit <n>', 'newest runs to list').default('20'))
    .action(async (o: { db?: string; format: string; run?: string; limit: string }) => {
      const whole = (v: string, flag: string): number => {
        if (!/^\d+$/.test(v)) throw new UsageError(`${flag} ${JSON.stringify(v)}: not a whole number`);
        return Number(v);
      };
      const { runJournal } = await import('../../app/quarantine.js');
      ctx.stdout(
        runJournal({
          ...dbFileOf(o),
          ...(o.run !== undefined ? { run: whole(o.run, '--run') } : {}),
          limit: whole(o.limit, '--limit'),
          format: asFormat(o.format),
        }),
      );
    });
}
