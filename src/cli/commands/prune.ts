import { Command, Option } from 'commander';
import { runPrune } from '../../app/prune.js';
import { asFormat, dbOption, formatOption, parseDuration, quietOption, uploadAgeOption } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function pruneCommand(ctx: CommandContext): Command {
  return new Command('prune')
    .description('delete empty repositories (dry run unless --apply)')
    .argument('<root>', 'storage root')
    .addOption(dbOption())
    .addOption(formatOption())
    .addOption(quietOption())
    .addOption(new Option('--apply', 'delete; without it nothing on disk changes'))
    .addOption(new Option('--min-age <duration>', 'leave repositories with anything newer than this').default('1h'))
    .addOption(uploadAgeOption())
    .action((root: string, o: { db: string; format: string; quiet?: boolean; apply?: boolean; minAge: string; uploadAge: string }) => {
      const quiet = Boolean(o.quiet);
      const out = runPrune({
        root,
        dbFile: o.db,
        format: asFormat(o.format),
        apply: Boolean(o.apply),
        now: ctx.now(),
        minAgeMs: parseDuration(o.minAge, '--min-age'),
        uploadAgeMs: parseDuration(o.uploadAge, '--upload-age'),
        onProgress: progressReporter(quiet),
      });
      endProgress(quiet);
      ctx.stdout(out.output);
    });
}
