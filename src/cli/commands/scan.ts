import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { configOption, dbFileOf, dbOption, rootArgument, ScanningCommand, scanSettings } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function scanCommand(ctx: CommandContext): Command {
  return new ScanningCommand('scan')
    .description('index a storage root into the SQLite index (replacing the previous scan of that root)')
    .argument('[root]', 'registry rootdirectory, its docker/registry/v2, or anything between (or --config)')
    .addOption(dbOption())
    .addOption(configOption())
    .scanningOptions()
    .addOption(new Option('--full', 'read everything, even where the previous scan could be updated in place'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(
      async (
        given: string | undefined,
        o: {
          db?: string;
          config?: string;
          quiet?: boolean;
          jobs?: string;
          full?: boolean;
          thorough?: boolean;
          format: string;
        },
      ) => {
        const root = rootArgument(given, o).root;
        if (root === undefined) throw new UsageError("missing argument 'root' (or --config CONFIG)");
        const quiet = Boolean(o.quiet);
        const { runScan } = await import('../../app/scan.js');
        const r = await runScan(root, {
          ...dbFileOf(o),
          clock: () => ctx.now(),
          onProgress: progressReporter(quiet),
          ...scanSettings(o),
          full: Boolean(o.full),
        });
        endProgress(quiet);
        // For the benchmark: where the time went, on stderr so JSON and scripts are unaffected.
        if (process.env.REGAUDIT_TIMINGS)
          process.stderr.write(
            `phases (ms): ${r.phases.map(([n, ms]) => `${n} ${ms}`).join(', ')}\n` +
              (r.requests
                ? `requests: ${Object.entries(r.requests)
                    .map(([k, n]) => `${k} ${n}`)
                    .join(', ')}\n`
                : '') +
              (r.manifests ? `manifests: read ${r.manifests.read}, reused ${r.manifests.reused}\n` : ''),
          );
        if (o.format === 'json') ctx.stdout((await import('../../report/scan.js')).renderScan(r, r.dbFile));
        else if (!quiet) {
          const how = r.incremental
            ? `updated the previous scan: ${r.incremental.repositoriesReread} of ${r.incremental.repositories} repositories and ${r.incremental.fansReread} of ${r.incremental.fans} blob directories changed, ${r.incremental.manifestsRead} manifests read`
            : `${r.files} files, ${r.dirs} directories`;
          ctx.stdout(
            `Scanned ${r.root.v2}: ${r.repositories} repositories; ${how}; ${(r.elapsedMs / 1000).toFixed(1)} s → ${r.dbFile}\n`,
          );
        }
      },
    );
}
