import { Command } from 'commander';
import { openIndexForWrite } from '../../index/open.js';
import { scanStorage } from '../../scan/run.js';
import { dbOption, jobsOption, parseJobs, quietOption } from '../options.js';
import { endProgress, progressReporter } from '../progress.js';
import type { CommandContext } from '../context.js';

export function scanCommand(ctx: CommandContext): Command {
  return new Command('scan')
    .description('index a storage root into the SQLite index (replacing the previous scan of that root)')
    .argument('<root>', 'registry rootdirectory, its docker/registry/v2, or anything between')
    .addOption(dbOption())
    .addOption(quietOption())
    .addOption(jobsOption())
    .action(async (root: string, o: { db: string; quiet?: boolean; jobs?: string }) => {
      const quiet = Boolean(o.quiet);
      const db = openIndexForWrite(o.db);
      try {
        const r = await scanStorage(db, root, { dbFile: o.db, onProgress: progressReporter(quiet), jobs: parseJobs(o.jobs) });
        endProgress(quiet);
        if (!quiet) {
          ctx.stdout(`Scanned ${r.root.v2}: ${r.repositories} repositories, ${r.files} files, ${r.dirs} directories in ${(r.elapsedMs / 1000).toFixed(1)} s → ${o.db}\n`);
        }
      } finally {
        db.close();
      }
    });
}
