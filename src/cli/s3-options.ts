/**
 * Object-storage options on every command whose root may be `s3://BUCKET/ROOTDIRECTORY`: added to
 * each command that takes a `root` argument, and handed to the storage layer before it runs.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { DEFAULT_REQUESTS } from '../storage/s3/client.js';
import { useS3Settings } from '../storage/s3/settings.js';

function parseRequests(v: string | undefined): number {
  if (v === undefined) return DEFAULT_REQUESTS;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1024)
    throw new UsageError(`--requests ${JSON.stringify(v)}: not a whole number from 1 to 1024`);
  return Number(v);
}

/** Arguments that may name a storage root: `root`, and diff's two sides. */
const ROOT_ARGUMENTS = ['root', 'A', 'B'];

export function withObjectStorageOptions(program: Command): void {
  for (const cmd of program.commands) {
    const takesRoot =
      cmd.registeredArguments.some((a) => ROOT_ARGUMENTS.includes(a.name())) ||
      cmd.options.some((o) => o.long === '--root');
    if (!takesRoot) continue;
    cmd
      .addOption(
        new Option(
          '--endpoint <url>',
          's3:// roots: S3 endpoint of a non-AWS server (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL); implies --path-style',
        ),
      )
      .addOption(new Option('--path-style', 's3:// roots: path-style addressing (bucket in the path)'))
      .addOption(new Option('--requests <n>', `s3:// roots: requests in flight (default ${DEFAULT_REQUESTS})`))
      .hook('preAction', (_this, action) => {
        const o = action.opts<{ endpoint?: string; pathStyle?: boolean; requests?: string }>();
        useS3Settings({
          ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
          // Unset unless given, so that a registry config's forcepathstyle can apply.
          ...(o.pathStyle ? { pathStyle: true } : {}),
          requests: parseRequests(o.requests),
        });
      });
  }
}
