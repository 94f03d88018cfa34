import { Command, Option } from 'commander';
import { isS3Url } from '../../storage/s3/location.js';
import { asFormat, formatOption } from '../options.js';
import type { CommandContext } from '../context.js';

export function restoreCommand(ctx: CommandContext): Command {
  return new Command('restore')
    .description('put a quarantined batch back into storage exactly as it was (refuses repositories re-created since)')
    .argument(
      '<batch>',
      'quarantine batch directory (DIR/<batch> from prune --quarantine DIR), or s3://BUCKET/PREFIX/<batch>',
    )
    .addOption(new Option('--root <path>', "storage root to restore into (default: the batch journal's root)"))
    .addOption(formatOption())
    .action(async (batch: string, o: { root?: string; format: string }) => {
      const { runBucketRestore, runRestore } = await import('../../app/quarantine.js');
      if (isS3Url(batch)) {
        // A bucket's batch: requests, not renames (storage/s3/quarantine.ts).
        const root = o.root !== undefined ? { root: o.root } : {};
        ctx.stdout(await runBucketRestore({ batch, ...root, format: asFormat(o.format) }));
        return;
      }
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
