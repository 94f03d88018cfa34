/**
 * Drives a REAL Docker Distribution registry (`docker-registry`, distribution 2.8.x) over loopback only,
 * so tests and scripts can produce storage written by the registry itself.
 *
 * - startRegistry(root)         one `docker-registry serve` process on 127.0.0.1:<free port>, filesystem driver,
 *                               delete enabled, no blob-descriptor cache, upload purging off.
 * - pushImage / pushIndex       build a tiny OCI layout by hand (deterministic tar+gzip layers) and push it with
 *                               `skopeo copy` (v2s2 or OCI; an OCI index with several platform children).
 * - deleteTag / deleteManifest  the API delete of 2.8 (by digest; untags every tag pointing at it).
 * - startUpload / pushBlobOnly  an unfinished upload (`_uploads/<id>`), a committed layer without a manifest.
 * - garbageCollect             `docker-registry garbage-collect` (stop the registry first for real runs).
 * - catalog / tagsList / pulls the registry's own view; `pulls` fetches every blob and verifies its digest.
 *
 * Every wait has a timeout, and errors carry the registry's stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MEDIA_TYPES } from '../../src/layout/manifest.js';

export const REGISTRY_BIN = process.env.REGAUDIT_REGISTRY_BIN ?? 'docker-registry';
export const SKOPEO_BIN = process.env.REGAUDIT_SKOPEO_BIN ?? 'skopeo';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_MS = 15_000;
const TOOL_TIMEOUT_MS = 60_000;

export const MT = MEDIA_TYPES;

/** Accept header covering every manifest type the registry can serve (schema1 deliberately left out). */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

// ---------------------------------------------------------------------------------------------------------
// tool guard

export interface ToolStatus {
  ok: boolean;
  missing: string[];
}

function hasTool(bin: string, args: string[]): boolean {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10_000 });
  return !r.error && r.status === 0;
}

/**
 * Checks that `docker-registry` and `skopeo` are installed. When one is missing this THROWS if `CI` is set
 * (a real-registry test must never skip silently in CI); otherwise it returns the reason so the caller can
 * `t.skip(reason)` (or `describe(..., { skip })`) loudly.
 */
export function requireRegistryTools(): { skip: false } | { skip: string } {
  const missing: string[] = [];
  if (!hasTool(REGISTRY_BIN, ['--version'])) missing.push(REGISTRY_BIN);
  if (!hasTool(SKOPEO_BIN, ['--version'])) missing.push(SKOPEO_BIN);
  if (missing.length === 0) return { skip: false };
  const reason =
    `real-registry tests need ${missing.join(' and ')} on PATH ` +
    `(Debian: apt-get install -y docker-registry skopeo); SKIPPING`;
  if (process.env.CI) throw new Error(`CI is set but ${reason.replace('; SKIPPING', '')}`);
  process.stderr.write(`\n*** ${reason} ***\n`);
  return { skip: reason };
}

// ---------------------------------------------------------------------------------------------------------
// registry process

export interface Registry {
  url: string;
  port: number;
  /** The filesystem root, or `s3://bucket/rootdirectory` for a registry on a bucket. */
  root: string;
  configPath: string;
  s3?: S3Storage;
  /** true until stop() resolved or the process died */
  readonly running: boolean;
  /** everything the registry wrote to stderr/stdout so far (for error messages) */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** registry log level; default `error` (its stderr is attached to every harness error) */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Serve from a bucket through the registry's own s3 driver instead of the filesystem at `root`. */
  s3?: S3Storage;
}

/** An S3 storage section for the registry (test/helpers/ceph.ts makes one for its RGW). */
export interface S3Storage {
  endpoint: string;
  bucket: string;
  /** The registry's rootdirectory in the bucket ('' for none). */
  rootDirectory: string;
  accessKey: string;
  secretKey: string;
}

/** `s3://bucket/rootdirectory`: the root regaudit is given for this storage. */
export function s3Root(s3: S3Storage): string {
  return `s3://${s3.bucket}/${s3.rootDirectory}`;
}

/** The registry refuses to start when AWS_CA_BUNDLE is set (and names no usable file); its processes run without it. */
function registryEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  return env;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence against leaked registries: 'exit' handlers run synchronously, kill() is sync.
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of live) c.kill('SIGKILL');
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

function storageLines(root: string, s3?: S3Storage): string[] {
  if (!s3) return ['  filesystem:', `    rootdirectory: ${JSON.stringify(root)}`];
  return [
    '  s3:',
    `    accesskey: ${JSON.stringify(s3.accessKey)}`,
    `    secretkey: ${JSON.stringify(s3.secretKey)}`,
    '    region: us-east-1',
    `    regionendpoint: ${JSON.stringify(s3.endpoint)}`,
    `    bucket: ${JSON.stringify(s3.bucket)}`,
    `    rootdirectory: ${JSON.stringify(`/${s3.rootDirectory}`)}`,
    '    v4auth: true',
    '    secure: false',
    '    forcepathstyle: true',
  ];
}

export function registryConfig(root: string, port: number, logLevel = 'error', s3?: S3Storage): string {
  // No `cache:` section: no blob-descriptor cache, every Stat goes to disk (offline edits are seen at once).
  // Upload purging off: abandoned `_uploads/<id>` stay put for the tests. Health checks off.
  return [
    'version: 0.1',
    'log:',
    `  level: ${logLevel}`,
    '  accesslog:',
    '    disabled: true',
    'storage:',
    ...storageLines(root, s3),
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: regaudit-test-secret',
    '',
  ].join('\n');
}

/** Writes a registry config for `root` into a fresh temp dir (also usable for GC without a server). */
export function writeRegistryConfig(root: string, port = 5000, logLevel = 'error', s3?: S3Storage): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-regcfg-'));
  const configPath = path.join(dir, 'config.yml');
  writeFileSync(configPath, registryConfig(s3 ? root : path.resolve(root), port, logLevel, s3));
  return configPath;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function fetchT(url: string, init: RequestInit = {}, timeoutMs = HTTP_TIMEOUT_MS): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * Starts `docker-registry serve` on a free loopback port for storage root `root` (created if missing) and
 * waits until `GET /v2/` answers 200. Retries on a port race. Always call `stop()` (e.g. in `after()`).
 */
export async function startRegistry(root: string, opts: StartOptions = {}): Promise<Registry> {
  installExitHook();
  if (opts.s3) root = s3Root(opts.s3);
  else {
    root = path.resolve(root);
    mkdirSync(root, { recursive: true });
  }
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(root, await freePort(), opts);
    } catch (e) {
      lastErr = e;
      if (!/address already in use/i.test(String(e))) break;
    }
  }
  throw lastErr;
}

async function startOnce(root: string, port: number, opts: StartOptions): Promise<Registry> {
  const cfgDir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-reg-'));
  const configPath = path.join(cfgDir, 'config.yml');
  writeFileSync(configPath, registryConfig(root, port, opts.logLevel ?? 'error', opts.s3));
  const child = spawn(REGISTRY_BIN, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: registryEnv() });
  live.add(child);
  let out = '';
  const append = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = false;
  let spawnError: Error | undefined;
  const exitP = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    });
    child.once('error', (e) => {
      spawnError = e;
      exited = true;
      live.delete(child);
      resolve();
    });
  });
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const reg: Registry = {
    url,
    port,
    root,
    configPath,
    ...(opts.s3 ? { s3: opts.s3 } : {}),
    get running() {
      return !stopped && !exited;
    },
    log: () => out,
    async stop() {
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exitP;
        clearTimeout(t);
      }
      rmSync(cfgDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      await reg.stop();
      throw new Error(
        `docker-registry exited during start (${spawnError ? spawnError.message : `code ${child.exitCode}`}):\n${out}`,
      );
    }
    try {
      const r = await fetchT(`${url}/v2/`, {}, 1000);
      if (r.status === 200) {
        await r.arrayBuffer();
        return reg;
      }
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await reg.stop();
      throw new Error(`docker-registry did not answer GET /v2/ within ${START_TIMEOUT_MS} ms:\n${out}`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP helpers

function regErr(reg: Registry, what: string, r: Response | undefined, body: string): Error {
  const tail = reg.log().slice(-4000);
  return new Error(
    `${what}: ${r ? `HTTP ${r.status}` : 'no response'} ${body.slice(0, 1000)}${tail ? `\nregistry log:\n${tail}` : ''}`,
  );
}

async function expectStatus(reg: Registry, what: string, r: Response, ok: number[]): Promise<void> {
  if (!ok.includes(r.status)) throw regErr(reg, what, r, await r.text());
}

function absolute(reg: Registry, location: string): string {
  return new URL(location, reg.url).toString();
}

/** An upload URL re-targeted at `reg` (a restarted registry listens on another port; the `_state` survives). */
function onRegistry(reg: Registry, location: string): string {
  const u = new URL(location);
  return new URL(u.pathname + u.search, reg.url).toString();
}

const toBuffer = (b: Buffer | string): Buffer => (typeof b === 'string' ? Buffer.from(b) : b);

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Digest of the manifest a tag (or digest) currently resolves to, via HEAD + Docker-Content-Digest. */
export async function resolveDigest(reg: Registry, repo: string, ref: string): Promise<string> {
  const r = await fetchT(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_ACCEPT },
  });
  await expectStatus(reg, `HEAD ${repo}:${ref}`, r, [200]);
  const d = r.headers.get('docker-content-digest');
  if (!d) throw regErr(reg, `HEAD ${repo}:${ref} without Docker-Content-Digest`, r, '');
  return d;
}

/** Deletes the manifest revision `digest` of `repo` (2.8 also untags every tag pointing at it). */
export async function deleteManifest(reg: Registry, repo: string, digest: string): Promise<void> {
  const r = await fetchT(`${reg.url}/v2/${repo}/manifests/${digest}`, { method: 'DELETE' });
  await expectStatus(reg, `DELETE ${repo}@${digest}`, r, [202]);
  await r.arrayBuffer();
}

/**
 * "Deletes a tag" the only way 2.8 allows: HEAD the tag for its digest, DELETE the manifest by digest. Every
 * other tag of the same digest goes too. Returns the deleted digest.
 */
export async function deleteTag(reg: Registry, repo: string, tag: string): Promise<string> {
  const digest = await resolveDigest(reg, repo, tag);
  await deleteManifest(reg, repo, digest);
  return digest;
}

export interface Upload {
  uuid: string;
  location: string;
}

/** Starts a blob upload and (optionally) PATCHes some bytes into it, never finishing it → `_uploads/<uuid>/`. */
export async function startUpload(reg: Registry, repo: string, bytes?: Buffer | string): Promise<Upload> {
  const r = await fetchT(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await expectStatus(reg, `POST ${repo} upload`, r, [202]);
  await r.arrayBuffer();
  let location = absolute(reg, r.headers.get('location') ?? '');
  const uuid = r.headers.get('docker-upload-uuid') ?? '';
  if (!uuid) throw regErr(reg, 'upload without Docker-Upload-UUID', r, '');
  if (bytes !== undefined && bytes.length > 0) {
    const body = toBuffer(bytes);
    const p = await fetchT(location, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `0-${body.length - 1}`,
        'Content-Length': String(body.length),
      },
      body: new Uint8Array(body),
    });
    await expectStatus(reg, `PATCH ${repo} upload`, p, [202]);
    await p.arrayBuffer();
    location = absolute(reg, p.headers.get('location') ?? location);
  }
  return { uuid, location };
}

/** true when the upload session still exists on the registry (`GET` upload status → 204). */
export async function uploadAlive(reg: Registry, upload: Upload): Promise<boolean> {
  const r = await fetchT(onRegistry(reg, upload.location));
  await r.arrayBuffer();
  return r.status === 204;
}

/** Finishes an upload started by `startUpload` (PUT ?digest= with the bytes after `alreadySent`). Returns the digest. */
export async function finishUpload(
  reg: Registry,
  upload: Upload,
  allBytes: Buffer | string,
  alreadySent: number,
): Promise<string> {
  const all = toBuffer(allBytes);
  const rest = all.subarray(alreadySent);
  const digest = sha256(all);
  const loc = new URL(onRegistry(reg, upload.location));
  loc.searchParams.set('digest', digest);
  const p = await fetchT(loc.toString(), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(rest.length) },
    body: new Uint8Array(rest),
  });
  await expectStatus(reg, `PUT finish upload ${upload.uuid}`, p, [201]);
  await p.arrayBuffer();
  return digest;
}

/** `HEAD /v2/<repo>/blobs/<digest>` → 200 (the repo has a `_layers` link and the data exists). */
export async function blobExists(reg: Registry, repo: string, digest: string): Promise<boolean> {
  const r = await fetchT(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  return r.status === 200;
}

/** Uploads one blob (POST, then PUT ?digest= with the body) without pushing any manifest. Returns its digest. */
export async function pushBlobOnly(reg: Registry, repo: string, content: Buffer | string): Promise<string> {
  return finishUpload(reg, await startUpload(reg, repo), content, 0);
}

/** `/v2/_catalog?n=1000`, in the registry's own order. */
export async function catalog(reg: Registry): Promise<string[]> {
  const r = await fetchT(`${reg.url}/v2/_catalog?n=1000`);
  await expectStatus(reg, 'GET _catalog', r, [200]);
  const j = (await r.json()) as { repositories?: string[] | null };
  return j.repositories ?? [];
}

/** `/v2/<repo>/tags/list` → tags (`null` from 2.8 becomes []); `undefined` when the repo is unknown (404). */
export async function tagsList(reg: Registry, repo: string): Promise<string[] | undefined> {
  const r = await fetchT(`${reg.url}/v2/${repo}/tags/list`);
  if (r.status === 404) {
    await r.arrayBuffer();
    return undefined;
  }
  await expectStatus(reg, `GET ${repo} tags/list`, r, [200]);
  const j = (await r.json()) as { tags?: string[] | null };
  return j.tags ?? [];
}

async function fetchVerified(reg: Registry, url: string, digest: string, accept?: string): Promise<Buffer | undefined> {
  const r = await fetchT(url, accept ? { headers: { Accept: accept } } : {});
  if (r.status !== 200) {
    await r.arrayBuffer();
    return undefined;
  }
  const buf = Buffer.from(await r.arrayBuffer());
  return sha256(buf) === digest ? buf : undefined;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
}
interface ManifestJson {
  mediaType?: string;
  schemaVersion?: number;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

/**
 * Really pulls `repo:ref` over HTTP: resolves the manifest, then fetches every manifest (index children
 * included), config and layer blob and verifies each sha256. true only if everything came back intact.
 */
export async function pulls(reg: Registry, repo: string, ref: string): Promise<boolean> {
  let digest: string;
  try {
    digest = await resolveDigest(reg, repo, ref);
  } catch {
    return false;
  }
  const seen = new Set<string>();
  const pullManifest = async (d: string): Promise<boolean> => {
    const buf = await fetchVerified(reg, `${reg.url}/v2/${repo}/manifests/${d}`, d, MANIFEST_ACCEPT);
    if (!buf) return false;
    const m = JSON.parse(buf.toString('utf8')) as ManifestJson;
    for (const child of m.manifests ?? []) if (!(await pullManifest(child.digest))) return false;
    for (const b of [...(m.config ? [m.config] : []), ...(m.layers ?? [])]) {
      if (seen.has(b.digest)) continue;
      seen.add(b.digest);
      if (!(await fetchVerified(reg, `${reg.url}/v2/${repo}/blobs/${b.digest}`, b.digest))) return false;
    }
    return true;
  };
  return pullManifest(digest);
}

/** Same as `pulls`, but through skopeo (`docker://` → a throw-away OCI layout). */
export function pullsWithSkopeo(reg: Registry, repo: string, ref: string): boolean {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-pull-'));
  try {
    const r = runTool(SKOPEO_BIN, [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--all',
      '--src-tls-verify=false',
      `docker://127.0.0.1:${reg.port}/${repo}:${ref}`,
      `oci:${dir}:x`,
    ]);
    return r.code === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// garbage collection

export interface GcResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs `docker-registry garbage-collect [--dry-run] [--delete-untagged] CONFIG`.
 * GC is stop-the-world: STOP THE REGISTRY FIRST for a real run (`await reg.stop()`), then pass the (stopped)
 * Registry or its storage root / a config path. Passing a still-running Registry throws unless `dryRun`.
 * Passing a plain directory (not ending in .yml) writes a config for that storage root.
 */
export function garbageCollect(
  target: Registry | string | { s3: S3Storage },
  opts: { dryRun?: boolean; deleteUntagged?: boolean } = {},
): GcResult {
  let configPath: string;
  let tmpCfg: string | undefined;
  if (typeof target === 'string') {
    if (/\.ya?ml$/.test(target)) configPath = target;
    else configPath = tmpCfg = writeRegistryConfig(target);
  } else if (!('running' in target)) {
    // A bucket: the s3 section names the storage, the root is not read.
    configPath = tmpCfg = writeRegistryConfig('', 5000, 'error', target.s3);
  } else {
    if (target.running && !opts.dryRun) throw new Error('garbageCollect: stop the registry before a real GC run');
    configPath = tmpCfg = writeRegistryConfig(target.root, 5000, 'error', target.s3);
  }
  try {
    const args = ['garbage-collect'];
    if (opts.dryRun) args.push('--dry-run');
    if (opts.deleteUntagged) args.push('--delete-untagged');
    args.push(configPath);
    return runTool(REGISTRY_BIN, args, registryEnv());
  } finally {
    if (tmpCfg) rmSync(path.dirname(tmpCfg), { recursive: true, force: true });
  }
}

/** The digests a `garbage-collect` output names "eligible for deletion" (blobs or manifests), once each, sorted. */
export function eligibleForDeletion(out: string, what: 'blob' | 'manifest'): string[] {
  const named = [...out.matchAll(new RegExp(`${what} eligible for deletion: (sha256:[0-9a-f]{64})`, 'g'))];
  return [...new Set(named.map((m) => m[1]!))].sort();
}

function runTool(bin: string, args: string[], env?: NodeJS.ProcessEnv): GcResult {
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    timeout: TOOL_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    env: env ?? process.env,
  });
  if (r.error) throw new Error(`${bin} ${args.join(' ')}: ${r.error.message}`);
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

// ---------------------------------------------------------------------------------------------------------
// image building (hand-written OCI layout, no docker)

/** A layer: a string (one file whose name derives from the content) or explicit files (path → content). */
export type LayerSpec = string | { files: Record<string, string | Buffer> };

export interface ImageSpec {
  layers: LayerSpec[];
  /** default amd64 / linux */
  architecture?: string;
  os?: string;
  /** extra label in the config, to make otherwise identical images distinct */
  label?: string;
}

export interface PushOptions {
  /** destination manifest format; default `v2s2` (single images) / `oci` (indexes) */
  format?: 'v2s2' | 'oci';
}

export interface PushedImage {
  /** digest of the manifest as stored by the registry (`Docker-Content-Digest`) */
  digest: string;
  mediaType: string;
  configDigest: string;
  layerDigests: string[];
}

export interface PushedIndex {
  digest: string;
  mediaType: string;
  children: (PushedImage & { platform: { os: string; architecture: string } })[];
}

function tarHeader(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  put(name, 0, 100);
  put(oct(mode, 8), 100, 8);
  put(oct(0, 8), 108, 8); // uid
  put(oct(0, 8), 116, 8); // gid
  put(oct(size, 12), 124, 12);
  put(oct(0, 12), 136, 12); // mtime: epoch, for reproducible layers
  h.fill(' ', 148, 156); // checksum placeholder
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** Minimal reproducible ustar writer: parent dirs, then files, sorted; uid/gid 0, mtime 0. */
export function makeTar(files: Record<string, string | Buffer>): Buffer {
  const entries = Object.entries(files)
    .map(([name, content]) => [name.replace(/^\/+/, ''), toBuffer(content)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const [name] of entries) {
    const segs = name.split('/');
    for (let i = 1; i < segs.length; i++) {
      const d = segs.slice(0, i).join('/') + '/';
      if (!dirs.has(d)) {
        dirs.add(d);
        parts.push(tarHeader(d, 0, 0o755, '5'));
      }
    }
  }
  for (const [name, data] of entries) {
    parts.push(tarHeader(name, data.length, 0o644, '0'), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

function layerFiles(spec: LayerSpec): Record<string, string | Buffer> {
  if (typeof spec !== 'string') return spec.files;
  return { [`data/${createHash('sha256').update(spec).digest('hex').slice(0, 16)}.txt`]: spec };
}

class OciLayout {
  readonly dir: string;
  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-oci-'));
    mkdirSync(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(path.join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }
  blob(data: Buffer | string, mediaType: string): Descriptor & { mediaType: string; size: number } {
    const buf = toBuffer(data);
    const digest = sha256(buf);
    writeFileSync(path.join(this.dir, 'blobs', 'sha256', digest.slice(7)), buf);
    return { mediaType, digest, size: buf.length };
  }
  image(spec: ImageSpec): Descriptor & { mediaType: string; size: number } {
    const layers = spec.layers.map((l) => {
      const tar = makeTar(layerFiles(l));
      return { tar, gz: gzipSync(tar, { level: 9 }) };
    });
    const config = {
      architecture: spec.architecture ?? 'amd64',
      os: spec.os ?? 'linux',
      config: { Labels: spec.label ? { 'regaudit.test': spec.label } : {} },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
      history: layers.map(() => ({ created_by: 'regaudit test harness' })),
    };
    const manifest = {
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      config: this.blob(JSON.stringify(config), MT.ociConfig),
      layers: layers.map((l) => this.blob(l.gz, MT.ociLayer)),
    };
    return this.blob(JSON.stringify(manifest), MT.ociManifest);
  }
  tag(desc: Descriptor & { mediaType: string; size: number }, tag: string): void {
    const index = {
      schemaVersion: 2,
      manifests: [{ ...desc, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    };
    writeFileSync(path.join(this.dir, 'index.json'), JSON.stringify(index));
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function skopeoCopy(reg: Registry, layoutDir: string, repo: string, tag: string, extra: string[]): string {
  const digestFile = path.join(layoutDir, 'pushed.digest');
  // a private blob-info cache dir would be ideal, but skopeo has no flag for it; mounts it may try are harmless
  const r = runTool(SKOPEO_BIN, [
    '--insecure-policy',
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    '--digestfile',
    digestFile,
    ...extra,
    `oci:${layoutDir}:${tag}`,
    `docker://127.0.0.1:${reg.port}/${repo}:${tag}`,
  ]);
  if (r.code !== 0) throw regErr(reg, `skopeo copy → ${repo}:${tag} (exit ${r.code})`, undefined, r.stderr + r.stdout);
  return readFileSync(digestFile, 'utf8').trim();
}

async function describeImage(reg: Registry, repo: string, digest: string): Promise<PushedImage> {
  const r = await fetchT(`${reg.url}/v2/${repo}/manifests/${digest}`, { headers: { Accept: MANIFEST_ACCEPT } });
  await expectStatus(reg, `GET ${repo}@${digest}`, r, [200]);
  const m = JSON.parse(await r.text()) as ManifestJson;
  if (!m.config || !m.layers) throw new Error(`${repo}@${digest} is not an image manifest`);
  return {
    digest,
    mediaType: m.mediaType ?? r.headers.get('content-type') ?? '',
    configDigest: m.config.digest,
    layerDigests: m.layers.map((l) => l.digest),
  };
}

/**
 * Builds a small image (one gzip tar layer per entry of `spec.layers`) and pushes it with skopeo as
 * `repo:tag`. Identical layer contents → identical blobs, in every repo. Format `v2s2` by default.
 */
export async function pushImage(
  reg: Registry,
  repo: string,
  tag: string,
  spec: ImageSpec,
  opts: PushOptions = {},
): Promise<PushedImage> {
  const oci = new OciLayout();
  try {
    oci.tag(oci.image(spec), tag);
    const digest = skopeoCopy(reg, oci.dir, repo, tag, ['--format', opts.format ?? 'v2s2']);
    return await describeImage(reg, repo, digest);
  } finally {
    oci.remove();
  }
}

/**
 * Pushes an OCI image index (multi-arch) whose children are the given platform images (`architecture`
 * defaults to amd64, arm64, … by position). Only the index is tagged; the children are untagged revisions.
 */
export async function pushIndex(
  reg: Registry,
  repo: string,
  tag: string,
  platforms: ImageSpec[],
): Promise<PushedIndex> {
  const arches = ['amd64', 'arm64', 'ppc64le', 's390x'];
  const oci = new OciLayout();
  try {
    const children = platforms.map((p, i) => {
      const platform = { os: p.os ?? 'linux', architecture: p.architecture ?? arches[i] ?? `arch${i}` };
      return { ...oci.image({ ...p, ...platform }), platform };
    });
    const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: children };
    oci.tag(oci.blob(JSON.stringify(index), MT.ociIndex), tag);
    const digest = skopeoCopy(reg, oci.dir, repo, tag, ['--all', '--preserve-digests']);
    const out: PushedIndex = { digest, mediaType: MT.ociIndex, children: [] };
    for (const c of children)
      out.children.push({ ...(await describeImage(reg, repo, c.digest)), platform: c.platform });
    return out;
  } finally {
    oci.remove();
  }
}

// ---------------------------------------------------------------------------------------------------------
// storage paths

/** `<root>/docker/registry/v2/repositories/<repo>` */
export function repoDir(root: string, repo: string): string {
  return path.join(root, 'docker', 'registry', 'v2', 'repositories', ...repo.split('/'));
}
