/**
 * The object-storage benchmark (`npx tsx scripts/bench.ts --s3 [--size 60000] [--seed 1] [--reps 3]
 * [--requests 32] [--extra-layers 0] [--out FILE]`): one generated tree (scripts/gen-tree.ts; with
 * --extra-layers, that many more layers on every image) loaded into a single-node Ceph RGW
 * (test/helpers/ceph.ts), and in one run, interleaved rep by rep:
 *
 * - the registry's own `docker-registry garbage-collect --dry-run` against the bucket;
 * - `regaudit scan s3://bench/<root>` (`--requests` in flight) into a new index: a first scan;
 * - the same again on that index: a repeat scan of the unchanged bucket;
 * - the floor (scripts/s3-floor.ts: list the prefix flat, GET only what must be read, same concurrency).
 *
 * Wall and CPU time are measured here, peak RSS by `/usr/bin/time -v`, the scans' phases from
 * REGAUDIT_TIMINGS, requests by kind from RGW's own log (one
 * beast access line per request, whoever sent it). Prints markdown and writes
 * bench-out/s3-<size>-<seed>/results.{md,json}, and --out when given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { benchS3Gc, type Kinds } from './bench-s3-gc.js';
import { generateTree, type Summary } from './gen-tree.js';
import { rgwLogFile, startCeph, type Ceph } from '../test/helpers/ceph.js';
import { registryConfig, type S3Storage } from '../test/helpers/registry.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist', 'src', 'cli', 'main.js');
const FLOOR = path.join(REPO, 'dist', 'scripts', 's3-floor.js');
const ROOT_DIRECTORY = 'bench';
/** AWS S3 Standard, us-east-1: LIST (like PUT, COPY, POST) per 1,000 requests; GET (and HEAD) per 1,000. */
const PRICE_LIST_PER_1000 = 0.005;
const PRICE_GET_PER_1000 = 0.0004;
const PROJECT_OBJECTS = 10_000_000;

interface Args {
  size: number;
  seed: number;
  reps: number;
  requests: number;
  extraLayers: number;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { size: 60_000, seed: 1, reps: 3, requests: 32, extraLayers: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string => argv[++i] ?? '';
    if (k === '--s3') continue;
    if (k === '--size') a.size = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--reps') a.reps = Math.max(1, Number(v()));
    else if (k === '--requests') a.requests = Number(v());
    else if (k === '--extra-layers') a.extraLayers = Number(v());
    else if (k === '--out') a.out = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

/** Requests in RGW's log after byte `from`: beast access lines, classified by method and path. */
function requestsSince(file: string, from: number, bucket: string): Kinds {
  const text = readFileSync(file).subarray(from).toString('utf8');
  const out: Kinds = { LIST: 0, GET: 0, HEAD: 0, other: 0 };
  for (const m of text.matchAll(/beast: \S+ \S+ - \S+ \[[^\]]*\] "(\w+) (\S+) HTTP/g)) {
    const [, method, target] = m;
    const [p] = target!.split('?');
    const onBucket = p === `/${bucket}` || p === `/${bucket}/`;
    if (method === 'GET' && onBucket) out.LIST++;
    else if (method === 'GET') out.GET++;
    else if (method === 'HEAD') out.HEAD++;
    else out.other++;
  }
  return out;
}

interface Measure {
  id: string;
  label: string;
  wallMs: number[];
  cpuS: number[];
  rssKb: number[];
  requests: Kinds[];
  /** The scans' phases (REGAUDIT_TIMINGS), per rep. */
  phases: Array<Record<string, number>>;
}

interface Timed {
  wallMs: number;
  cpuS: number;
  rssKb: number;
  stdout: string;
  phases: Record<string, number>;
}

function timed(argv: string[], env: NodeJS.ProcessEnv): Timed {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', ...argv], { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}\n${r.stderr.slice(-3000)}`);
  const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? 0);
  const secs = (what: string) => Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(r.stderr)?.[1] ?? 0);
  const phases: Record<string, number> = {};
  for (const [, name, ms] of (/^phases \(ms\): (.*)$/m.exec(r.stderr)?.[1] ?? '').matchAll(/(\w+) (\d+)/g))
    phases[name!] = Number(ms);
  return { wallMs, cpuS: secs('User') + secs('System'), rssKb: kb, stdout: r.stdout, phases };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function load(ceph: Ceph, v2: string, bucket: string, concurrency: number): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: ceph.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey },
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: concurrency } },
  });
  const files = (await fg('**/*', { cwd: v2, onlyFiles: true, dot: true })).sort();
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const rel = files[next++]!;
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${ROOT_DIRECTORY}/docker/registry/v2/${rel}`,
          Body: readFileSync(path.join(v2, rel)),
        }),
      );
      if (++done % 5000 === 0)
        process.stderr.write(`  loaded ${done}/${files.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  client.destroy();
  return files.length;
}

export async function benchS3(argv: string[]): Promise<void> {
  const a = parseArgs(argv);
  const outDir = path.join(REPO, 'bench-out', `s3-${a.size}-${a.seed}${a.extraLayers ? `-L${a.extraLayers}` : ''}`);
  const treeDir = path.join(outDir, 'tree');
  let summary: Summary;
  if (existsSync(path.join(treeDir, 'summary.json')))
    summary = JSON.parse(readFileSync(path.join(treeDir, 'summary.json'), 'utf8')) as Summary;
  else {
    rmSync(treeDir, { recursive: true, force: true });
    mkdirSync(treeDir, { recursive: true });
    summary = generateTree(treeDir, { size: a.size, seed: a.seed, extraLayers: a.extraLayers });
  }
  if (!existsSync(CLI) || !existsSync(FLOOR)) throw new Error('build first: npx tsc -p tsconfig.json');
  process.stderr.write(`tree: ${summary.files} files, ${summary.repositories} repositories, ${summary.blobs} blobs\n`);
  const ceph = await startCeph();
  const work = path.join(os.tmpdir(), `regaudit-bench-s3-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    const storage: S3Storage = await ceph.storage('bench', ROOT_DIRECTORY);
    const t0 = Date.now();
    const objects = await load(ceph, path.join(treeDir, 'docker', 'registry', 'v2'), storage.bucket, 64);
    const loadS = (Date.now() - t0) / 1000;
    process.stderr.write(`loaded ${objects} objects in ${loadS.toFixed(0)} s\n`);
    const cfg = path.join(work, 'config.yml');
    writeFileSync(cfg, registryConfig('', 5000, 'error', storage));
    const regEnv = { ...process.env };
    delete regEnv.AWS_CA_BUNDLE;
    const url = `s3://${storage.bucket}/${ROOT_DIRECTORY}`;
    const log = rgwLogFile(ceph);
    const db = path.join(work, 'b.db');
    const scanArgv = [process.execPath, CLI, 'scan', url, '--db', db, '--quiet', '--requests', String(a.requests)];
    const scanEnv = { ...ceph.env, REGAUDIT_TIMINGS: '1' };
    const runs: Array<{ id: string; label: string; argv: string[]; env: NodeJS.ProcessEnv; fresh?: boolean }> = [
      {
        id: 'gc',
        label: '`docker-registry garbage-collect --dry-run`',
        argv: ['docker-registry', 'garbage-collect', '--dry-run', cfg],
        env: regEnv,
      },
      {
        id: 'scan',
        label: `\`regaudit scan ${url}\` (--requests ${a.requests}), first scan`,
        argv: scanArgv,
        env: scanEnv,
        fresh: true,
      },
      { id: 'repeat', label: 'the same, repeated on its index (bucket unchanged)', argv: scanArgv, env: scanEnv },
      {
        id: 'floor',
        label: `floor: flat list + needed GETs (${a.requests} in flight)`,
        argv: [process.execPath, FLOOR, url, '--requests', String(a.requests)],
        env: ceph.env,
      },
    ];
    // Untimed warm-up: RGW's caches and the page cache see the bucket once.
    timed(runs[2]!.argv, runs[2]!.env);
    const measures: Measure[] = runs.map((r) => ({
      id: r.id,
      label: r.label,
      wallMs: [],
      cpuS: [],
      rssKb: [],
      requests: [],
      phases: [],
    }));
    for (let rep = 0; rep < a.reps; rep++) {
      for (const [i, r] of runs.entries()) {
        if (r.fresh) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
        const from = statSync(log).size;
        const t = timed(r.argv, r.env);
        await new Promise((res) => setTimeout(res, 300)); // RGW writes its log line after the response
        const m = measures[i]!;
        m.wallMs.push(t.wallMs);
        m.cpuS.push(t.cpuS);
        m.rssKb.push(t.rssKb);
        m.phases.push(t.phases);
        m.requests.push(requestsSince(log, from, storage.bucket));
        process.stderr.write(
          `rep ${rep + 1} ${r.id}: ${(t.wallMs / 1000).toFixed(2)} s (cpu ${t.cpuS.toFixed(2)} s), ${JSON.stringify(m.requests.at(-1))} ${JSON.stringify(t.phases)}\n`,
        );
      }
    }
    // The real collection: regaudit gc --apply, then (the bucket reloaded) the registry's own GC.
    const gcMd = await benchS3Gc({
      cli: CLI,
      url,
      cfg,
      regEnv,
      env: ceph.env,
      work,
      requests: a.requests,
      log,
      bucket: storage.bucket,
      reload: () => load(ceph, path.join(treeDir, 'docker', 'registry', 'v2'), storage.bucket, 64),
      timed,
      requestsSince,
    });
    const md = render(a, summary, objects, loadS, measures) + gcMd;
    process.stdout.write(md);
    writeFileSync(path.join(outDir, 'results.md'), md);
    writeFileSync(
      path.join(outDir, 'results.json'),
      JSON.stringify({ args: a, summary, objects, loadS, measures }, null, 2),
    );
    if (a.out) writeFileSync(a.out, md);
  } finally {
    await ceph.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function total(k: Kinds): number {
  return k.LIST + k.GET + k.HEAD + k.other;
}

function render(a: Args, s: Summary, objects: number, loadS: number, ms: Measure[]): string {
  const by = (id: string) => ms.find((m) => m.id === id)!;
  const gc = by('gc');
  const scan = by('scan');
  const repeat = by('repeat');
  const floor = by('floor');
  const reqs = (m: Measure): Kinds => m.requests.at(-1)!;
  const wall = (m: Measure) => median(m.wallMs) / 1000;
  const rss = (m: Measure) => Math.max(...m.rssKb) / 1024;
  const row = (m: Measure) => {
    const k = reqs(m);
    return `| ${m.label} | ${wall(m).toFixed(2)} s | ${median(m.cpuS).toFixed(2)} s | ${k.LIST} | ${k.GET} | ${k.HEAD} | ${k.other} | ${total(k)} | ${rss(m).toFixed(0)} MB |`;
  };
  const cost = (k: Kinds, factor: number): { requests: number; usd: number } => {
    const list = k.LIST * factor;
    const get = (k.GET + k.HEAD) * factor;
    return {
      requests: Math.round(list + get + k.other * factor),
      usd: (list * PRICE_LIST_PER_1000 + get * PRICE_GET_PER_1000) / 1000,
    };
  };
  const f = PROJECT_OBJECTS / objects;
  const pGc = cost(reqs(gc), f);
  const pScan = cost(reqs(scan), f);
  const pRepeat = cost(reqs(repeat), f);
  const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const reqRatio = (m: Measure) => total(reqs(gc)) / total(reqs(m));
  const wallRatio = (m: Measure) => wall(gc) / wall(m);
  const floorRatio = wall(scan) / wall(floor);
  const phases = (m: Measure) =>
    Object.keys(m.phases[0] ?? {})
      .map((p) => `${p} ${(median(m.phases.map((x) => x[p] ?? 0)) / 1000).toFixed(2)} s`)
      .join(', ');
  return [
    `### Object storage: ${objects} objects in Ceph RGW (seed ${a.seed}, median of ${a.reps})`,
    '',
    `Tree: ${s.repositories} repositories, ${s.tags} tags, ${s.revisions} revision links, ${s.layerLinks} layer links, ${s.blobs} blobs, ${s.uploads} uploads; loaded in ${loadS.toFixed(0)} s (64 PUTs in flight).`,
    '',
    '| run | wall | CPU (user+sys) | LIST | GET | HEAD | other | requests | peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    row(gc),
    row(scan),
    row(repeat),
    row(floor),
    '',
    `Scan phases (median): first scan: ${phases(scan)}; repeat: ${phases(repeat)}.`,
    '',
    '| target | first scan | repeat scan |',
    '|---|---:|---:|',
    `| ≥ 20x fewer requests than the GC dry run | ${reqRatio(scan).toFixed(1)}x ${check(reqRatio(scan) >= 20)} | ${reqRatio(repeat).toFixed(1)}x ${check(reqRatio(repeat) >= 20)} |`,
    `| ≥ 10x less wall time than the GC dry run | ${wallRatio(scan).toFixed(1)}x ${check(wallRatio(scan) >= 10)} | ${wallRatio(repeat).toFixed(1)}x ${check(wallRatio(repeat) >= 10)} |`,
    `| ≤ 1.5x the floor's wall time | ${floorRatio.toFixed(2)}x ${check(floorRatio <= 1.5)} | ${(wall(repeat) / wall(floor)).toFixed(2)}x |`,
    `| peak RSS ≤ 256 MB | ${rss(scan).toFixed(0)} MB ${check(rss(scan) <= 256)} | ${rss(repeat).toFixed(0)} MB ${check(rss(repeat) <= 256)} |`,
    '',
    `Projected to ${PROJECT_OBJECTS.toLocaleString('en-US')} objects of the same shape (requests grow linearly; AWS S3 Standard: $${PRICE_LIST_PER_1000} per 1,000 LIST, $${PRICE_GET_PER_1000} per 1,000 GET/HEAD):`,
    '',
    '| run | requests | cost |',
    '|---|---:|---:|',
    `| GC dry run | ${pGc.requests.toLocaleString('en-US')} | $${pGc.usd.toFixed(2)} |`,
    `| regaudit scan, first | ${pScan.requests.toLocaleString('en-US')} | $${pScan.usd.toFixed(2)} |`,
    `| regaudit scan, repeat | ${pRepeat.requests.toLocaleString('en-US')} | $${pRepeat.usd.toFixed(2)} |`,
    '',
  ].join('\n');
}
