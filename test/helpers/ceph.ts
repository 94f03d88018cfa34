/**
 * A REAL object store for the tests: a single-node Ceph cluster (Debian's ceph 16.2) without systemd,
 * in a temporary directory, on free loopback ports.
 *
 * - one ceph-mon (msgr v1 only; auth none, with `ms mon client mode = crc`, without which radosgw hangs
 *   connecting to the monitor), one ceph-osd on a file-backed bluestore (a sparse file), one radosgw
 *   (beast frontend on 127.0.0.1 with tcp_nodelay=1: without it every request waits about 40 ms);
 * - an S3 user made with `radosgw-admin user create` (fixed keys: nothing secret, loopback only);
 * - every daemon runs in the foreground as a child of this process: `stop()` ends them and removes the
 *   directory, and an exit hook kills them if a test dies first.
 *
 * Start it once per test file (`before`), stop it in `after`: it takes about 15 s.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, type S3Storage } from './registry.js';

export const CEPH_TOOLS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'] as const;

const ACCESS_KEY = 'REGAUDITTESTACCESSKEY';
const SECRET_KEY = 'regaudit-test-secret-key-not-a-secret';
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

export interface Ceph {
  /** http://127.0.0.1:<port> of radosgw */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  dir: string;
  /** Environment for an S3 client (regaudit, the SDK) talking to this RGW. */
  env: NodeJS.ProcessEnv;
  /** The registry's s3 storage section for `bucket` (created on first use) and rootdirectory. */
  storage(bucket: string, rootDirectory?: string): Promise<S3Storage>;
  createBucket(bucket: string): Promise<void>;
  /** Another S3 user (owning nothing): the environment that authenticates as them. */
  createUser(uid: string): NodeJS.ProcessEnv;
  /** The tails of the daemons' logs, for error messages. */
  logs(): string;
  stop(): Promise<void>;
}

function hasTool(bin: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Checks that the Ceph daemons are installed. When one is missing this THROWS if `CI` is set (a test
 * against the object store must never skip silently in CI); otherwise it returns the reason to skip.
 */
export function requireCephTools(): { skip: false } | { skip: string } {
  const missing = CEPH_TOOLS.filter((t) => !hasTool(t));
  if (missing.length === 0) return { skip: false };
  const reason = `object-storage tests need ${missing.join(', ')} (Debian: apt-get install -y radosgw ceph-mon ceph-osd)`;
  if (process.env.CI) throw new Error(`CI is set but ${reason}`);
  process.stderr.write(`\n*** ${reason}; SKIPPING ***\n`);
  return { skip: reason };
}

const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function conf(dir: string, monPort: number, rgwPort: number, fsid: string): string {
  return [
    '[global]',
    `fsid = ${fsid}`,
    `mon host = [v1:127.0.0.1:${monPort}]`,
    'public addr = 127.0.0.1',
    'ms bind msgr2 = false',
    'auth cluster required = none',
    'auth service required = none',
    'auth client required = none',
    'ms mon client mode = crc',
    'osd pool default size = 1',
    'osd pool default min size = 1',
    'mon allow pool size one = true',
    'mon warn on pool no redundancy = false',
    'mon data avail warn = 1',
    'mon data avail crit = 0',
    'osd crush chooseleaf type = 0',
    // The OSD is placed in the CRUSH map before it starts; left to itself it races its own boot (wrong fsid).
    'osd crush update on start = false',
    'osd class update on start = false',
    'osd objectstore = bluestore',
    'bluestore block create = true',
    `bluestore block path = ${dir}/osd/block-$id`,
    'bluestore block size = 8589934592',
    'osd memory target = 1073741824',
    'osd max object name len = 460',
    'osd max object namespace len = 64',
    `run dir = ${dir}/run`,
    `log file = ${dir}/log/$name.log`,
    `admin socket = ${dir}/run/$name.asok`,
    `mon data = ${dir}/mon/$cluster-$id`,
    `osd data = ${dir}/osd/$cluster-$id`,
    '',
    '[client.rgw]',
    `rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1`,
    `rgw data = ${dir}/rgw`,
    // The benchmark counts requests from this log (one "req done" line per request).
    'debug rgw = 1',
    '',
  ].join('\n');
}

function tail(file: string, bytes = 3000): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.slice(-bytes);
  } catch {
    return '';
  }
}

/**
 * Starts the cluster; throws with the daemons' log tails when it does not come up. A failed start is
 * tried once more (said on stderr): on a loaded machine a daemon's first boot can time out.
 */
export async function startCeph(): Promise<Ceph> {
  try {
    return await startOnce();
  } catch (err) {
    process.stderr.write(`[ceph] start failed, trying once more: ${String(err).split('\n')[0]}\n`);
    return startOnce();
  }
}

async function startOnce(): Promise<Ceph> {
  hookExit();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-ceph-'));
  for (const d of ['run', 'log', 'mon', 'osd/ceph-0', 'rgw']) mkdirSync(path.join(dir, d), { recursive: true });
  const children: ChildProcess[] = [];
  const confFile = path.join(dir, 'ceph.conf');
  const logs = (): string =>
    readdirSync(path.join(dir, 'log'))
      .map((f) => `--- ${f}\n${tail(path.join(dir, 'log', f))}`)
      .join('\n');
  const stop = async (): Promise<void> => {
    // radosgw first, the monitor last: the others talk to it while they shut down.
    for (const c of [...children].reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(t);
      live.delete(c);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const run = (bin: string, args: string[], timeoutMs = 30_000): string => {
    const r = spawnSync(bin, ['-c', confFile, ...args], { encoding: 'utf8', timeout: timeoutMs });
    if (r.error || r.status !== 0)
      throw new Error(`${bin} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}`}\n${r.stderr}\n${logs()}`);
    return r.stdout;
  };
  const daemon = (bin: string, args: string[]): void => {
    const c = spawn(bin, ['-f', '-c', confFile, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr?.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-4000);
    });
    c.once('exit', (code, sig) => {
      live.delete(c);
      if (code !== 0 && sig === null && err) process.stderr.write(`[ceph] ${bin} exited ${code}: ${err}\n`);
    });
    children.push(c);
    live.add(c);
  };
  try {
    const monPort = await freePort();
    const rgwPort = await freePort();
    const fsid = randomUUID();
    writeFileSync(confFile, conf(dir, monPort, rgwPort, fsid));
    const monmap = path.join(dir, 'monmap');
    const mm = spawnSync(
      'monmaptool',
      ['--create', '--fsid', fsid, '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, monmap],
      { encoding: 'utf8' },
    );
    if (mm.status !== 0) throw new Error(`monmaptool: ${mm.stderr}`);
    run('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', monmap]);
    daemon('ceph-mon', ['-i', 'a']);
    // The first command also waits for the monitor to answer.
    run('ceph', ['--connect-timeout', '30', 'osd', 'create'], 40_000);
    run('ceph-osd', ['--mkfs', '-i', '0'], 60_000);
    run('ceph', ['osd', 'crush', 'add', 'osd.0', '1.0', 'host=localhost', 'root=default']);
    daemon('ceph-osd', ['-i', '0']);
    daemon('radosgw', ['-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        const r = await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        if (r.status === 200) break;
      } catch {
        /* not up yet */
      }
      if (children.some((c) => c.exitCode !== null)) throw new Error(`a Ceph daemon exited during start\n${logs()}`);
      if (Date.now() > deadline) throw new Error(`radosgw did not answer within ${START_TIMEOUT_MS} ms\n${logs()}`);
      await sleep(250);
    }
    run(
      'radosgw-admin',
      [
        'user',
        'create',
        '--uid=regaudit',
        '--display-name=regaudit',
        `--access-key=${ACCESS_KEY}`,
        `--secret=${SECRET_KEY}`,
      ],
      60_000,
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: endpoint,
    };
    const createUser = (uid: string): NodeJS.ProcessEnv => {
      const key = `${uid.toUpperCase()}ACCESSKEY`;
      const secret = `${uid}-secret`;
      run(
        'radosgw-admin',
        ['user', 'create', `--uid=${uid}`, `--display-name=${uid}`, `--access-key=${key}`, `--secret=${secret}`],
        60_000,
      );
      return { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret };
    };
    const created = new Set<string>();
    const createBucket = async (bucket: string): Promise<void> => {
      if (created.has(bucket)) return;
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
      const c = new S3Client({
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      });
      try {
        await c.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        c.destroy();
      }
      created.add(bucket);
    };
    return {
      endpoint,
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      dir,
      env,
      createBucket,
      createUser,
      async storage(bucket: string, rootDirectory = '') {
        await createBucket(bucket);
        return { endpoint, bucket, rootDirectory, accessKey: ACCESS_KEY, secretKey: SECRET_KEY };
      },
      logs,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The RGW log file (one `req done ... http_status=` line per request). */
export function rgwLogFile(ceph: Ceph): string {
  const f = path.join(ceph.dir, 'log', 'client.rgw.log');
  return existsSync(f) ? f : '';
}
