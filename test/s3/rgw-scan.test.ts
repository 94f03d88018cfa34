/**
 * Object storage end to end, against a REAL S3 server (Ceph RGW, test/helpers/ceph.ts) written by the
 * REAL registry through its own s3 driver: the filesystem suite's scenarios pushed once to a filesystem
 * registry and once to a registry on a bucket, API deletes, the registry's own GC, then regaudit.
 * - the two reports agree (repositories, states, findings);
 * - catalog on the bucket = the registry's /v2/_catalog; gc-preview on the bucket = garbage-collect
 *   --dry-run against it;
 * - the scan reads what it must and nothing more (request counts), a link the listing cannot vouch for
 *   is read and judged, and the errors a user meets are one line and exit 2;
 * - a first scan writes a new index file renamed into place; killed before the rename it leaves the
 *   previous index as it was; with the index open elsewhere, or on a repeat scan, it writes in place.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startCeph, type Ceph } from '../helpers/ceph.js';
import { runCli, runCliJson, spawnCli, type CliResult } from '../helpers/cli.js';
import { dumpIndex } from '../helpers/index-dump.js';
import { rebuildPath } from '../../src/index/rebuild.js';
import type { GcPreviewJson as GcJson } from '../helpers/json.js';
import {
  catalog,
  eligibleForDeletion as eligible,
  garbageCollect,
  startRegistry,
  writeRegistryConfig,
  type Registry,
  type S3Storage,
} from '../helpers/registry.js';
import { holdingProxy, populate, putObject, rgwSuiteSkip, s3Client } from './support.js';

const skip = rgwSuiteSkip();

interface ReportJson {
  repositories: Array<Record<string, unknown> & { name: string; state: string }>;
  findings: Array<{ kind: string; repository: string | null; tag?: string; digest?: string }>;
}

describe('object storage: a registry on Ceph RGW, scanned from the bucket', { skip, timeout: 600_000 }, () => {
  let rgw: Ceph;
  let work = '';
  let fsRoot = '';
  let storage: S3Storage;
  let url = '';
  let catalogOnBucket: string[] = [];
  const cli = (args: string[], db: string, env?: NodeJS.ProcessEnv): CliResult =>
    runCli([...args, '--db', db, '--quiet'], { env: env ?? rgw.env });
  const json = <T>(args: string[], db: string): T => {
    const r = runCliJson<T>([...args, '--db', db, '--format', 'json', '--quiet'], { env: rgw.env });
    assert.equal(r.code, 0, r.stderr);
    return r.json;
  };

  before(async () => {
    rgw = await startCeph();
    work = mkdtempSync(path.join(os.tmpdir(), 'regaudit-s3e2e-'));
    fsRoot = path.join(work, 'fs');
    storage = await rgw.storage('registry', 'prod/reg');
    url = `s3://${storage.bucket}/${storage.rootDirectory}`;
    await populate(() => startRegistry(fsRoot));
    let s3reg: Registry | undefined;
    await populate(async () => (s3reg = await startRegistry('', { s3: storage })));
    const again = await startRegistry('', { s3: storage });
    try {
      catalogOnBucket = await catalog(again);
    } finally {
      await again.stop();
    }
    assert.ok(s3reg);
  });

  after(async () => {
    await rgw?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the same scenario on a filesystem and on a bucket gives the same report', () => {
    const onFs = json<ReportJson>(['report', fsRoot], path.join(work, 'fs.db'));
    const onS3 = json<ReportJson>(['report', url], path.join(work, 's3.db'));
    const repos = (r: ReportJson) =>
      r.repositories.map((x) => ({ ...x, listedByV3: undefined })).sort((a, b) => a.name.localeCompare(b.name));
    const findings = (r: ReportJson) =>
      r.findings
        .map((f) => `${f.kind} ${f.repository ?? '-'} ${f.tag ?? ''} ${f.digest ?? ''}`)
        .filter((f) => !f.startsWith('empty-directory'))
        .sort();
    assert.deepEqual(repos(onS3), repos(onFs));
    assert.deepEqual(findings(onS3), findings(onFs));
    assert.ok(onS3.repositories.some((r) => r.name === 'myimage' && r.state === 'empty'));
  });

  it("--config: the registry's own storage.s3 section reaches the bucket; same report; keys never printed", () => {
    // The very config the test registry runs with; no AWS_* in the environment: all from the file.
    const cfg = writeRegistryConfig('', 5000, 'error', storage);
    const bare: NodeJS.ProcessEnv = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_REGION: undefined,
      AWS_ENDPOINT_URL_S3: undefined,
      AWS_ENDPOINT_URL: undefined,
      AWS_PROFILE: undefined,
    };
    const report = (args: string[], db: string, env: NodeJS.ProcessEnv) =>
      runCliJson<ReportJson>([...args, '--db', path.join(work, db), '--format', 'json', '--quiet'], { env });
    try {
      const byUrl = json<ReportJson>(['report', url], path.join(work, 'url.db'));
      const byConfig = report(['report', '--config', cfg], 'cfg.db', bare);
      assert.equal(byConfig.code, 0, byConfig.stderr);
      // The same report, root included; only the scan's time differs.
      const same = (r: ReportJson) => ({ ...r, scannedAt: undefined });
      assert.deepEqual(same(byConfig.json), same(byUrl));
      const printed = JSON.stringify(byConfig.json) + byConfig.stderr;
      assert.ok(!printed.includes(storage.secretKey) && !printed.includes(storage.accessKey));

      // Keys in the file win over those in the environment; --endpoint wins over regionendpoint.
      const wrongEnv = { ...bare, AWS_ACCESS_KEY_ID: 'NOBODY', AWS_SECRET_ACCESS_KEY: 'nothing' };
      const broken = cfg.replace(/config\.yml$/, 'elsewhere.yml');
      writeFileSync(broken, readFileSync(cfg, 'utf8').replace(storage.endpoint, 'http://127.0.0.1:9'));
      const overridden = report(['report', '--config', broken, '--endpoint', storage.endpoint], 'ep.db', wrongEnv);
      assert.equal(overridden.code, 0, overridden.stderr);
      assert.deepEqual(same(overridden.json), same(byUrl));

      // REGISTRY_STORAGE_S3_* overrides, as the registry honours them: a wrong secret is refused in one
      // line that names neither key.
      const refused = runCli(['report', '--config', cfg, '--db', path.join(work, 'bad.db'), '--quiet'], {
        env: { ...bare, REGISTRY_STORAGE_S3_SECRETKEY: 'not-the-secret' },
      });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^regaudit: [^\n]*\n$/);
      for (const secret of [storage.secretKey, storage.accessKey, 'not-the-secret'])
        assert.ok(!refused.stderr.includes(secret) && !refused.stdout.includes(secret), refused.stderr);
    } finally {
      rmSync(path.dirname(cfg), { recursive: true, force: true });
    }
  });

  it('catalog on the bucket equals the registry /v2/_catalog, order included', () => {
    const ours = json<{ repositories: string[] }>(['catalog', url, '--registry-version', '2'], path.join(work, 'c.db'));
    assert.deepEqual(ours.repositories, catalogOnBucket);
  });

  it('gc-preview on the bucket equals garbage-collect --dry-run against it (with and without -m)', () => {
    const gc = json<GcJson>(['gc-preview', url], path.join(work, 'gc.db'));
    const scenario = (id: string) => gc.scenarios.find((s) => s.id === id)!;
    const dry = garbageCollect({ s3: storage }, { dryRun: true });
    assert.equal(dry.code, 0, dry.stderr + dry.stdout);
    assert.deepEqual(
      scenario('2')
        .blobs.items.map((b) => b.digest)
        .sort(),
      eligible(dry.stdout, 'blob'),
    );
    assert.ok(eligible(dry.stdout, 'blob').length >= 1, 'pending blob is garbage');
    const dryM = garbageCollect({ s3: storage }, { dryRun: true, deleteUntagged: true });
    assert.equal(dryM.code, 0, dryM.stderr + dryM.stdout);
    assert.deepEqual(
      scenario('2-m')
        .blobs.items.map((b) => b.digest)
        .sort(),
      eligible(dryM.stdout, 'blob'),
    );
    assert.deepEqual(
      [...new Set(scenario('2-m').manifests.items.map((m) => m.digest))].sort(),
      eligible(dryM.stdout, 'manifest'),
    );
  });

  it('scan reads only what it must: a GET per manifest and upload; counts on stdout and stderr; no SDK warning', () => {
    const db = path.join(work, 'count.db');
    const r = runCliJson<{ storage: string; requests: Record<string, number>; repositories: number }>(
      ['scan', url, '--db', db, '--format', 'json', '--quiet'],
      { env: { ...rgw.env, REGAUDIT_TIMINGS: '1' } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.storage, 's3');
    const rep = json<ReportJson>(['report'], db);
    const tags = rep.repositories.reduce((n, x) => n + Number(x.tags), 0);
    const uploads = rep.repositories.reduce((n, x) => n + Number(x.uploads), 0);
    const index = new Database(db, { readonly: true });
    const revs = index
      .prepare(`SELECT count(DISTINCT digest) FROM links WHERE kind = 'revision' AND digest IS NOT NULL`)
      .pluck()
      .get() as number;
    index.close();
    assert.ok(tags > 0 && uploads > 0 && revs > 0);
    // Tag links are proven by their ETag (the MD5 of a revision digest): no GET for them.
    assert.equal(r.json.requests.GET, uploads + revs, JSON.stringify(r.json.requests));
    assert.equal(r.json.requests.HEAD, 0);
    assert.ok((r.json.requests.LIST ?? 0) >= 1 && (r.json.requests.LIST ?? 99) <= 40, JSON.stringify(r.json.requests));
    assert.match(r.stderr, /^requests: LIST \d+, GET \d+, HEAD 0/m);
    assert.doesNotMatch(r.stderr, /NodeVersionSupportWarning|Warning/);
  });

  it('a link whose listed ETag does not prove its content is read, and judged as on a filesystem', async () => {
    const bucket = 'damaged';
    await rgw.createBucket(bucket);
    const hex = 'ab'.repeat(32);
    const base = 'docker/registry/v2/repositories/bad';
    // A layer link holding another digest, and one holding garbage: both differ from their path.
    await putObject(rgw, bucket, `${base}/_layers/sha256/${hex}/link`, 'not a digest');
    await putObject(rgw, bucket, `${base}/_manifests/revisions/sha256/${hex}/link`, `sha256:${'cd'.repeat(32)}`);
    const db = path.join(work, 'damaged.db');
    const scan = runCliJson<{ requests: Record<string, number> }>(
      ['scan', `s3://${bucket}`, '--db', db, '--format', 'json', '--quiet'],
      { env: rgw.env },
    );
    assert.equal(scan.code, 0, scan.stderr);
    // Two links read (their ETags prove nothing), and the manifest the revision link names.
    assert.equal(scan.json.requests.GET, 3, JSON.stringify(scan.json.requests));
    const rep = json<ReportJson>(['report'], db);
    const kinds = rep.findings.filter((f) => f.repository === 'bad').map((f) => f.kind);
    assert.ok(kinds.includes('invalid-link'), JSON.stringify(rep.findings));
    assert.notEqual(rep.repositories.find((r) => r.name === 'bad')?.state, 'empty');
  });

  it('a repeat scan GETs no manifest it has read; a manifest overwritten in place is read again', async () => {
    type ScanJson = { requests: Record<string, number>; manifests: { read: number; reused: number } };
    const db = path.join(work, 'repeat.db');
    const scan = (extra: string[] = [], file = db): ScanJson => json<ScanJson>(['scan', url, ...extra], file);
    const report = (file = db) => ({ ...json<ReportJson>(['report'], file), scannedAt: undefined });
    const first = scan();
    const firstReport = report();
    const index = new Database(db, { readonly: true });
    const revs = index
      .prepare(`SELECT DISTINCT digest FROM links WHERE kind = 'revision' AND digest IS NOT NULL ORDER BY digest`)
      .pluck()
      .all() as string[];
    const uploads = index.prepare(`SELECT count(*) FROM uploads`).pluck().get() as number;
    index.close();
    assert.deepEqual(first.manifests, { read: revs.length, reused: 0 });

    // Unchanged bucket: the listing, each upload's startedat, and not one manifest GET.
    const second = scan();
    assert.deepEqual(second.manifests, { read: 0, reused: revs.length });
    assert.equal(second.requests.GET, uploads, JSON.stringify(second.requests));
    assert.deepEqual(report(), firstReport);
    // And again from the carried-over rows (their ETags are carried too).
    assert.deepEqual(scan().manifests, { read: 0, reused: revs.length });
    // --full reads everything again.
    assert.deepEqual(scan(['--full']).manifests, { read: revs.length, reused: 0 });

    // One manifest blob overwritten in place with other bytes of the same size.
    const { client, sdk } = await s3Client(rgw);
    const victim = revs[0]!;
    const hex = victim.slice('sha256:'.length);
    const key = `${storage.rootDirectory}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
    const original = Buffer.from(
      await (
        await client.send(new sdk.GetObjectCommand({ Bucket: storage.bucket, Key: key }))
      ).Body!.transformToByteArray(),
    );
    try {
      await client.send(
        new sdk.PutObjectCommand({ Bucket: storage.bucket, Key: key, Body: 'x'.repeat(original.length) }),
      );
      const third = scan();
      assert.deepEqual(third.manifests, { read: 1, reused: revs.length - 1 });
      const changed = report();
      assert.notDeepEqual(changed, firstReport);
      // What a first scan of the same bucket reports.
      const fresh = path.join(work, 'repeat-fresh.db');
      assert.deepEqual(scan([], fresh).manifests, { read: revs.length, reused: 0 });
      assert.deepEqual(changed, report(fresh));
    } finally {
      await client.send(new sdk.PutObjectCommand({ Bucket: storage.bucket, Key: key, Body: original }));
      client.destroy();
    }
    assert.deepEqual(scan().manifests, { read: 1, reused: revs.length - 1 });
    assert.deepEqual(report(), firstReport);

    // A manifest blob gone since the previous scan: not listed, so read (and found missing), as a first scan would.
    const again = await s3Client(rgw);
    try {
      await again.client.send(new again.sdk.DeleteObjectCommand({ Bucket: storage.bucket, Key: key }));
      assert.deepEqual(scan().manifests, { read: 1, reused: revs.length - 1 });
      const gone = report();
      assert.ok(gone.findings.some((f) => f.kind === 'missing-manifest-blob' && f.digest === victim));
      const fresh = path.join(work, 'repeat-gone.db');
      scan([], fresh);
      assert.deepEqual(gone, report(fresh));
    } finally {
      await again.client.send(new again.sdk.PutObjectCommand({ Bucket: storage.bucket, Key: key, Body: original }));
      again.client.destroy();
    }
  });

  it('a first scan renames a new index file into place; killed before that, the previous index stays; open elsewhere, in place', async () => {
    const db = path.join(work, 'rebuild.db');
    type ScanJson = { manifests: { read: number; reused: number } };
    const scan = (extra: string[] = []): ScanJson => json<ScanJson>(['scan', url, ...extra], db);
    const report = () => ({ ...json<ReportJson>(['report'], db), scannedAt: undefined });
    const inode = () => statSync(db).ino;
    const pageSize = () => {
      const h = new Database(db, { readonly: true });
      try {
        return h.pragma('page_size', { simple: true }) as number;
      } finally {
        h.close();
      }
    };
    scan();
    const stray = rebuildPath(realpathSync(db));
    assert.equal(pageSize(), 8192, "the rebuild's page size: the first scan wrote a new file");
    assert.ok(!existsSync(stray));
    const rows = dumpIndex(db);
    const firstReport = report();
    // A repeat scan takes its manifests from the index and writes in place.
    let before = inode();
    assert.ok(scan().manifests.reused > 0);
    assert.equal(inode(), before, 'a repeat scan: the same file');
    // --full reads everything: a new file, the same rows.
    scan(['--full']);
    assert.notEqual(inode(), before, '--full: a new file');
    assert.deepEqual(dumpIndex(db), rows);

    // Killed while it lists and reads (every manifest GET held by a proxy): the previous index stays.
    const proxy = await holdingProxy(
      rgw.endpoint,
      (method, u) => method === 'GET' && /\/blobs\/sha256\/.*\/data/.test(u),
    );
    try {
      before = inode();
      const run = spawnCli(['scan', url, '--full', '--db', db, '--quiet', '--endpoint', proxy.endpoint], rgw.env);
      const deadline = Date.now() + 60_000;
      while (!(proxy.held() > 0 && existsSync(stray)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.ok(proxy.held() > 0 && existsSync(stray), 'the scan reached its manifest reads, writing a new file');
      process.kill(run.pid, 'SIGKILL');
      assert.equal((await run.done).signal, 'SIGKILL');
    } finally {
      await proxy.close();
    }
    assert.equal(inode(), before, 'killed: the previous file is still in place');
    assert.deepEqual(dumpIndex(db), rows);
    assert.deepEqual(report(), firstReport);

    // Another connection has the index open (in WAL mode, as a scan leaves it): a first scan writes in place.
    scan();
    const reader = new Database(db, { readonly: true });
    try {
      reader.prepare(`SELECT count(*) FROM scans`).get(); // a WAL reader holds its lock until it closes
      before = inode();
      scan(['--full']);
      assert.equal(inode(), before, 'the same file');
      assert.equal(
        (reader.prepare(`SELECT count(*) AS n FROM scans WHERE status = 'complete'`).get() as { n: number }).n,
        1,
      );
    } finally {
      reader.close();
    }
    assert.deepEqual(dumpIndex(db), rows);
    // The next first scan replaces the file a killed one left.
    scan(['--full']);
    assert.notEqual(inode(), before);
    assert.ok(!existsSync(stray));
    assert.deepEqual(report(), firstReport);
  });

  it('errors a user meets are one line, exit 2', () => {
    const db = path.join(work, 'err.db');
    const oneLine = (r: CliResult, re: RegExp): void => {
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}${r.stdout}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
    };
    const noCreds: NodeJS.ProcessEnv = { ...rgw.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    delete noCreds.AWS_ACCESS_KEY_ID;
    delete noCreds.AWS_SECRET_ACCESS_KEY;
    oneLine(
      runCli(['scan', url, '--db', db, '--quiet'], {
        env: {
          ...noCreds,
          HOME: work,
          AWS_CONFIG_FILE: path.join(work, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'none'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      }),
      /no AWS credentials/,
    );
    oneLine(cli(['scan', 's3://no-such-bucket-here/x'], db), /bucket no-such-bucket-here does not exist/);
    oneLine(cli(['scan', `s3://${storage.bucket}/not/there`], db), /not registry storage/);
    oneLine(
      cli(['scan', url], db, { ...rgw.env, AWS_SECRET_ACCESS_KEY: 'wrong' }),
      /credentials were refused|access denied/,
    );
    // A second user: the bucket is not theirs.
    oneLine(
      cli(['scan', url], db, { ...rgw.env, ...rgw.createUser('intruder') }),
      /access denied: ListObjectsV2 s3:\/\/registry\//,
    );
    oneLine(cli(['scan', url, '--endpoint', 'http://127.0.0.1:9'], db), /cannot reach http:\/\/127\.0\.0\.1:9/);
    oneLine(cli(['scan', 's3://Bad_Bucket/x'], db), /not a valid bucket name/);
  });
});
