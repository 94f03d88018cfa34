import { Command, Option } from 'commander';
import {
  asFormat,
  dbOption,
  formatOption,
  jobsOption,
  parseDuration,
  quietOption,
  scanSettings,
  thoroughOption,
  uploadAgeOption,
} from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function gcCommand(ctx: CommandContext): Command {
  return new Command('gc')
    .description(
      'reclaim space: unreferenced blobs, stale links, uploads and empty repositories (dry run unless --apply)',
    )
    .argument('[root]', 'storage root to scan first; without it the plan comes from the newest scan in --db')
    .addOption(dbOption())
    .addOption(formatOption())
    .addOption(quietOption())
    .addOption(jobsOption())
    .addOption(thoroughOption())
    .addOption(new Option('--apply', 'delete (or quarantine); without it nothing on disk changes'))
    .addOption(new Option('--quarantine <dir>', 'with --apply: move everything into a batch under DIR (restorable)'))
    .addOption(new Option('--delete-untagged', "also untagged manifests (3.x's rule: children of a tagged index stay)"))
    .addOption(new Option('--no-layer-links', 'keep _layers links'))
    .addOption(new Option('--no-uploads', 'keep stale uploads'))
    .addOption(new Option('--no-repositories', 'keep empty repositories'))
    .addOption(new Option('--min-age <duration>', 'touch nothing newer than this').default('1h'))
    .addOption(uploadAgeOption())
    .action(
      async (
        root: string | undefined,
        o: {
          db: string;
          format: string;
          quiet?: boolean;
          jobs?: string;
          thorough?: boolean;
          apply?: boolean;
          quarantine?: string;
          deleteUntagged?: boolean;
          layerLinks: boolean;
          uploads: boolean;
          repositories: boolean;
          minAge: string;
          uploadAge: string;
        },
      ) => {
        const quiet = Boolean(o.quiet);
        const { runGc } = await import('../../app/gc.js');
        const out = await runGc({
          ...(root !== undefined ? { root } : {}),
          dbFile: o.db,
          format: asFormat(o.format),
          apply: Boolean(o.apply),
          ...(o.quarantine !== undefined ? { quarantine: o.quarantine } : {}),
          ...(ctx.killableDuring ? { aroundApply: ctx.killableDuring } : {}),
          now: ctx.now(),
          minAgeMs: parseDuration(o.minAge, '--min-age'),
          uploadAgeMs: parseDuration(o.uploadAge, '--upload-age'),
          deleteUntagged: Boolean(o.deleteUntagged),
          layerLinks: o.layerLinks,
          uploads: o.uploads,
          repositories: o.repositories,
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
          write: (chunk) => ctx.stdout(chunk),
        });
        endProgress(quiet);
        // As scan: the requests on stderr for the benchmark, JSON and scripts unaffected.
        if (process.env.REGAUDIT_TIMINGS && out.requests)
          process.stderr.write(
            `requests: ${Object.entries(out.requests)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ')}\n`,
          );
      },
    );
}
