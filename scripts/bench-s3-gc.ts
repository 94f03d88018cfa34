/**
 * The real collection on object storage, for scripts/bench-s3.ts: `regaudit gc --apply` (scan, plan
 * and apply, end to end) on the loaded bucket, then the bucket loaded again and the registry's own
 * `docker-registry garbage-collect` (not a dry run) on it. Wall time, requests by kind from RGW's
 * log, and what each deleted. Returns markdown.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

export type Kinds = Record<'LIST' | 'GET' | 'HEAD' | 'other', number>;

export interface GcBenchContext {
  /** regaudit's built CLI. */
  cli: string;
  url: string;
  /** The registry's config for the bucket. */
  cfg: string;
  regEnv: NodeJS.ProcessEnv;
  env: NodeJS.ProcessEnv;
  work: string;
  requests: number;
  log: string;
  bucket: string;
  /** Loads the tree into the bucket again (what regaudit deleted comes back). */
  reload: () => Promise<number>;
  timed: (argv: string[], env: NodeJS.ProcessEnv) => { wallMs: number; rssKb: number; stdout: string };
  requestsSince: (file: string, from: number, bucket: string) => Kinds;
}

interface GcJson {
  totals: { blobs: number; blobBytes: number; layerLinks: number; uploads: number; repositories: number };
  result?: { done: number; skipped: number };
  requests?: Record<string, number>;
}

export async function benchS3Gc(c: GcBenchContext): Promise<string> {
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300)); // RGW logs after the response
  let from = statSync(c.log).size;
  const ours = c.timed(
    [
      process.execPath,
      c.cli,
      'gc',
      c.url,
      '--db',
      path.join(c.work, 'gc.db'),
      '--apply',
      '--min-age',
      '0s',
      '--upload-age',
      '0s',
      '--format',
      'json',
      '--quiet',
      '--requests',
      String(c.requests),
    ],
    c.env,
  );
  await settle();
  const oursReq = c.requestsSince(c.log, from, c.bucket);
  const plan = JSON.parse(ours.stdout) as GcJson;
  process.stderr.write(`regaudit gc --apply: ${(ours.wallMs / 1000).toFixed(2)} s, ${JSON.stringify(oursReq)}\n`);

  const t0 = Date.now();
  await c.reload();
  process.stderr.write(`reloaded in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  from = statSync(c.log).size;
  const theirs = c.timed(['docker-registry', 'garbage-collect', c.cfg], c.regEnv);
  await settle();
  const theirsReq = c.requestsSince(c.log, from, c.bucket);
  const deleted = new Set(
    [...theirs.stdout.matchAll(/blob eligible for deletion: (sha256:[0-9a-f]{64})/g)].map((m) => m[1]),
  ).size;
  process.stderr.write(`garbage-collect: ${(theirs.wallMs / 1000).toFixed(2)} s, ${JSON.stringify(theirsReq)}\n`);

  const total = (k: Kinds): number => k.LIST + k.GET + k.HEAD + k.other;
  const row = (label: string, wallMs: number, k: Kinds, rssKb: number, what: string): string =>
    `| ${label} | ${(wallMs / 1000).toFixed(2)} s | ${k.LIST} | ${k.GET} | ${k.HEAD} | ${k.other} | ${total(k)} | ${(rssKb / 1024).toFixed(0)} MB | ${what} |`;
  const t = plan.totals;
  return [
    '',
    '#### Collection (not a dry run), each on the freshly loaded bucket',
    '',
    '| run | wall | LIST | GET | HEAD | other (DELETE, PUT, COPY) | requests | peak RSS | deleted |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    row(
      `\`regaudit gc ${c.url} --apply --min-age 0s --upload-age 0s\` (scan + plan + apply)`,
      ours.wallMs,
      oursReq,
      ours.rssKb,
      `${t.blobs} blobs, ${t.layerLinks} layer links, ${t.uploads} uploads, ${t.repositories} repositories`,
    ),
    row('`docker-registry garbage-collect`', theirs.wallMs, theirsReq, theirs.rssKb, `${deleted} blobs`),
    '',
    `regaudit's apply alone (its own count, after the scan): ${Object.entries(plan.requests ?? {})
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}.`,
    '',
  ].join('\n');
}
