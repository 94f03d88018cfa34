/**
 * `regaudit gc` on object storage, against a REAL S3 server (Ceph RGW) written by the REAL
 * registry's s3 driver (pushes with skopeo-compatible images, API deletes, a multi-arch index,
 * nested names, an upload left open):
 * - after `gc --apply`, the registry's own `garbage-collect --dry-run` on the bucket finds nothing to
 *   delete, every tag pulls, /v2/_catalog lists exactly the live repositories, and the bucket's blob
 *   bytes dropped by exactly the plan's total; with --delete-untagged every platform of the index pulls;
 * - the guards: a key written after the scan stops the run (nothing deleted), the lock object;
 * - `--quarantine s3://` and `restore` give back a bucket on which the registry serves every deleted image;
 * - SIGKILL during the apply: a rerun finishes and the live image still pulls.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireCephTools, startCeph, type Ceph } from '../helpers/ceph.js';
import { cliPath, runCli, runCliJson } from '../helpers/cli.js';
import {
  catalog,
  deleteTag,
  garbageCollect,
  pulls,
  pullsWithSkopeo,
  pushBlobOnly,
  pushImage,
  pushIndex,
  requireRegistryTools,
  startRegistry,
  startUpload,
  type PushedImage,
  type PushedIndex,
  type Registry,
  type S3Storage,
} from '../helpers/registry.js';
import { s3Client } from './support.js';

const tools = requireRegistryTools();
const ceph = requireCephTools();
const skip = tools.skip || ceph.skip || undefined;

interface GcJson {
  blocked: unknown[];
  totals: {
    blobs: number;
    blobBytes: number;
    manifests: number;
    layerLinks: number;
    uploads: number;
    repositories: number;
  };
  result?: { bytesFreed: number; done: number; skipped: number };
  batch?: string;
  requests?: Record<string, number>;
  items: Array<{ kind: string; path: string; repository?: string; digest?: string; bytes: number; outcome?: string }>;
}

const eligible = (out: string, what: 'blob' | 'manifest'): string[] =>
  [
    ...new Set(
      [...out.matchAll(new RegExp(`${what} eligible for deletion: (sha256:[0-9a-f]{64})`, 'g'))].map((m) => m[1]!),
    ),
  ].sort();

const TAGS: Array<[string, string]> = [
  ['app', 'v1'],
  ['app', 'v2'],
  ['team', 'v1'],
  ['team/app', 'v1'],
  ['other', 'v1'],
  ['platform/multi', 'latest'],
];
const LIVE = ['app', 'other', 'platform/multi', 'team', 'team/app'];

interface Pushed {
  appOld: PushedImage;
  multi: PushedIndex;
}

/** The history of the filesystem gc test (test/e2e/gc-apply-equality.test.ts), through the s3 driver. */
async function populate(r: Registry): Promise<Pushed> {
  const appOld = await pushImage(r, 'app', 'v1', { layers: ['shared base', 'app 1'] });
  await pushImage(r, 'app', 'v1', { layers: ['shared base', 'app 2'] }); // appOld untagged
  await pushImage(r, 'app', 'v2', { layers: ['shared base', 'app 2'] });
  await pushImage(r, 'team', 'v1', { layers: ['team'] });
  await pushImage(r, 'team/app', 'v1', { layers: ['team app'] }, { format: 'oci' });
  await pushImage(r, 'other', 'v1', { layers: ['shared base', 'other'] });
  await pushImage(r, 'lib', 'v1', { layers: ['lib 1'] });
  await deleteTag(r, 'lib', 'v1'); // lib: empty
  await pushBlobOnly(r, 'pending', 'a layer whose manifest never came');
  await startUpload(r, 'app', 'half an upload');
  const multi = await pushIndex(r, 'platform/multi', 'latest', [
    { layers: ['multi amd64'] },
    { layers: ['multi arm64'] },
  ]);
  await r.stop();
  return { appOld, multi };
}

const V2 = 'reg/docker/registry/v2/';

describe('object storage: gc on a bucket', { skip, timeout: 900_000 }, () => {
  let rgw: Ceph;
  let work = '';

  /** Every key under `prefix` with its size. */
  const objects = async (bucket: string, prefix: string): Promise<Map<string, number>> => {
    const { client, sdk } = await s3Client(rgw);
    try {
      const out = new Map<string, number>();
      let token: string | undefined;
      do {
        const r = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) out.set(o.Key!, o.Size ?? 0);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out;
    } finally {
      client.destroy();
    }
  };
  const blobBytes = async (s: S3Storage): Promise<number> =>
    [...(await objects(s.bucket, `${V2}blobs/`)).values()].reduce((n, b) => n + b, 0);
  const put = async (bucket: string, key: string, body: string): Promise<void> => {
    const { client, sdk } = await s3Client(rgw);
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    } finally {
      client.destroy();
    }
  };
  const remove = async (bucket: string, key: string): Promise<void> => {
    const { client, sdk } = await s3Client(rgw);
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } finally {
      client.destroy();
    }
  };
  const dryRun = (s: S3Storage) => {
    const dry = garbageCollect({ root: '', s3: s, running: false } as unknown as Registry, { dryRun: true });
    assert.equal(dry.code, 0, dry.stderr + dry.stdout);
    return dry.stdout;
  };
  const gcOn = (url: string, db: string, extra: string[]): GcJson => {
    const r = runCliJson<GcJson>(['gc', url, '--db', db, '--format', 'json', '--quiet', ...extra], { env: rgw.env });
    assert.equal(r.code, 0, r.stderr);
    return r.json;
  };

  before(async () => {
    rgw = await startCeph();
    work = mkdtempSync(path.join(os.tmpdir(), 'regaudit-s3gc-'));
  });
  after(async () => {
    await rgw?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('apply', () => {
    let storage: S3Storage;
    let url = '';
    let db = '';
    let pushed: Pushed;
    const gc = (extra: string[]): GcJson => gcOn(url, db, extra);

    before(async () => {
      storage = await rgw.storage('gcapply', 'reg');
      url = `s3://${storage.bucket}/reg`;
      db = path.join(work, 'gc.db');
      pushed = await populate(await startRegistry('', { s3: storage }));
    });

    it('the plan equals what garbage-collect --dry-run would delete; a dry run changes nothing', async () => {
      const before = await objects(storage.bucket, V2);
      const plan = gc(['--min-age', '0s', '--upload-age', '0s']);
      assert.deepEqual(plan.blocked, []);
      assert.equal(plan.requests, undefined, 'a dry run makes no apply requests');
      const ours = plan.items.filter((i) => i.kind === 'blob').map((i) => i.digest!);
      assert.ok(ours.length >= 3, `lib's and pending's blobs: ${ours.join(', ')}`);
      assert.deepEqual(ours.sort(), eligible(dryRun(storage), 'blob'));
      assert.deepEqual(
        plan.items.filter((i) => i.kind === 'repository').map((i) => i.repository),
        ['lib', 'pending'],
      );
      assert.equal(plan.totals.uploads, 1);
      assert.deepEqual(await objects(storage.bucket, V2), before);
    });

    it('a key written after the scan stops the apply: exit 2, one line, nothing deleted', async () => {
      gc(['--min-age', '0s', '--upload-age', '0s']); // scan + plan
      const late = `${V2}repositories/other/_layers/sha256/${'0'.repeat(64)}/link`;
      await put(storage.bucket, late, `sha256:${'0'.repeat(64)}`);
      const before = await objects(storage.bucket, V2);
      const r = runCli(['gc', '--db', db, '--apply', '--min-age', '0s', '--upload-age', '0s', '--quiet'], {
        env: rgw.env,
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /^regaudit: refusing to collect: the storage changed since the scan \(repository other changed/,
      );
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.deepEqual(await objects(storage.bucket, V2), before);
      await remove(storage.bucket, late);
    });

    it('--apply: nothing left for the registry GC, every tag pulls, catalog = live repositories, bytes drop by the plan', async () => {
      const before = await blobBytes(storage);
      const res = gc(['--apply', '--min-age', '0s', '--upload-age', '0s']);
      assert.equal(res.result?.skipped, 0, JSON.stringify(res.items.filter((i) => i.outcome === 'skipped')));
      assert.ok(res.items.every((i) => i.outcome === 'deleted'));
      assert.equal(before - (await blobBytes(storage)), res.totals.blobBytes);
      assert.equal(
        res.result?.bytesFreed,
        res.totals.blobBytes + res.items.filter((i) => i.kind === 'upload').reduce((n, i) => n + i.bytes, 0),
      );
      // Requests by kind: a listing before anything goes, and DeleteObjects of up to 1,000 keys.
      assert.ok((res.requests?.LIST ?? 0) > 0 && (res.requests?.DELETE ?? 0) > 0, JSON.stringify(res.requests));
      assert.equal(res.requests?.COPY, 0);
      assert.ok(!(await objects(storage.bucket, V2)).has(`${V2}.regaudit-prune.lock`), 'lock released');
      assert.deepEqual(eligible(dryRun(storage), 'blob'), []);
      const reg = await startRegistry('', { s3: storage });
      try {
        assert.deepEqual((await catalog(reg)).sort(), LIVE);
        for (const [repo, tag] of TAGS) assert.ok(await pulls(reg, repo, tag), `${repo}:${tag}`);
        assert.ok(pullsWithSkopeo(reg, 'platform/multi', 'latest'), 'skopeo copy --all of the index');
        assert.ok(await pulls(reg, 'app', pushed.appOld.digest), 'untagged manifests stay without --delete-untagged');
      } finally {
        await reg.stop();
      }
      assert.deepEqual(gc(['--min-age', '0s', '--upload-age', '0s']).items, [], 'a second plan is empty');
    });

    it('--delete-untagged --apply: the old revision goes, the index children stay, every platform pulls', async () => {
      const run = runCliJson<GcJson>(
        ['gc', url, '--db', db, '--format', 'json', '--quiet', '--apply', '--delete-untagged', '--min-age', '0s'],
        { env: { ...rgw.env, REGAUDIT_TIMINGS: '1' } },
      );
      assert.equal(run.code, 0, run.stderr);
      const res = run.json;
      // The apply's requests on stderr too, as the scan prints its own.
      const line = Object.entries(res.requests!)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      assert.ok(run.stderr.split('\n').includes(`requests: ${line}`), run.stderr);
      assert.deepEqual(
        res.items.filter((i) => i.kind === 'manifest').map((m) => [m.repository, m.digest]),
        [['app', pushed.appOld.digest]],
      );
      assert.deepEqual(eligible(dryRun(storage), 'blob'), []);
      const reg = await startRegistry('', { s3: storage });
      try {
        for (const [repo, tag] of TAGS) assert.ok(await pulls(reg, repo, tag), `${repo}:${tag}`);
        for (const c of pushed.multi.children) assert.ok(await pulls(reg, 'platform/multi', c.digest), c.digest);
        assert.ok(pullsWithSkopeo(reg, 'platform/multi', 'latest'));
        assert.equal(await pulls(reg, 'app', pushed.appOld.digest), false);
      } finally {
        await reg.stop();
      }
    });
  });

  it('--quarantine s3:// and restore: the registry serves every deleted image again', async () => {
    const storage = await rgw.storage('gcq', 'reg');
    const url = `s3://${storage.bucket}/reg`;
    const pushed = await populate(await startRegistry('', { s3: storage }));
    await rgw.createBucket('gchold');
    const bytes = await blobBytes(storage);
    const keys = await objects(storage.bucket, V2);
    const bad = runCli(['gc', url, '--db', path.join(work, 'q.db'), '--apply', '--quarantine', work, '--quiet'], {
      env: rgw.env,
    });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /a bucket's quarantine is an s3:\/\/BUCKET\/PREFIX location/);
    const res = gcOn(url, path.join(work, 'q.db'), [
      '--apply',
      '--delete-untagged',
      '--min-age',
      '0s',
      '--upload-age',
      '0s',
      '--quarantine',
      's3://gchold/q',
    ]);
    assert.match(res.batch ?? '', /^s3:\/\/gchold\/q\/gc-/);
    assert.ok(res.totals.blobs > 0 && res.totals.manifests === 1 && res.totals.repositories === 2);
    assert.ok(res.items.every((i) => i.outcome === 'quarantined'));
    assert.equal(bytes - (await blobBytes(storage)), res.totals.blobBytes);
    assert.ok((res.requests?.COPY ?? 0) > 0);
    let reg = await startRegistry('', { s3: storage });
    try {
      assert.equal(await pulls(reg, 'app', pushed.appOld.digest), false);
    } finally {
      await reg.stop();
    }
    const back = runCliJson<{ restored: string[]; alreadyPresent: string[] }>(
      ['restore', res.batch!, '--format', 'json'],
      {
        env: rgw.env,
      },
    );
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual([...(await objects(storage.bucket, V2)).keys()].sort(), [...keys.keys()].sort(), 'every key back');
    assert.equal(await blobBytes(storage), bytes, 'every blob byte is back');
    assert.deepEqual(
      [...(await objects('gchold', `${res.batch!.slice('s3://gchold/'.length)}/`)).keys()],
      [`${res.batch!.slice('s3://gchold/'.length)}/journal.json`],
    );
    reg = await startRegistry('', { s3: storage });
    try {
      assert.ok(await pulls(reg, 'app', pushed.appOld.digest), 'the untagged image is served again');
      for (const [repo, tag] of TAGS) assert.ok(await pulls(reg, repo, tag), `${repo}:${tag}`);
      assert.deepEqual((await catalog(reg)).sort(), [
        'app',
        'lib',
        'other',
        'pending',
        'platform/multi',
        'team',
        'team/app',
      ]);
    } finally {
      await reg.stop();
    }
  });

  it('SIGKILL during the apply: a rerun takes the stale lock over and finishes; the live image still pulls', async () => {
    const k = await rgw.storage('gckilled', 'reg');
    const kUrl = `s3://${k.bucket}/reg`;
    const reg = await startRegistry('', { s3: k });
    try {
      await pushImage(reg, 'live/app', 'v1', { layers: ['live base'] });
    } finally {
      await reg.stop();
    }
    // Garbage of every kind the apply takes in turn: layer links of empty repositories, unreferenced blobs.
    const hex = (i: number): string => (i.toString(16).padStart(4, '0') + 'ab').repeat(11).slice(0, 64);
    const garbageKeys = Array.from({ length: 120 }, (_, i) =>
      i < 60
        ? `${V2}repositories/gone/r${String(i).padStart(2, '0')}/_layers/sha256/${hex(i)}/link`
        : `${V2}blobs/sha256/${hex(i).slice(0, 2)}/${hex(i)}/data`,
    );
    const { client, sdk } = await s3Client(rgw);
    try {
      await Promise.all(
        garbageKeys.map((key, i) =>
          client.send(
            new sdk.PutObjectCommand({ Bucket: k.bucket, Key: key, Body: i < 60 ? `sha256:${hex(i)}` : `blob ${i}` }),
          ),
        ),
      );
    } finally {
      client.destroy();
    }
    const kdb = path.join(work, 'killed.db');
    const garbage = async (): Promise<number> => {
      const now = await objects(k.bucket, V2);
      return garbageKeys.filter((x) => now.has(x)).length;
    };
    const start = await garbage();
    assert.equal(start, 120);
    const child = spawn(
      process.execPath,
      [cliPath, 'gc', kUrl, '--db', kdb, '--min-age', '0s', '--apply', '--quiet', '--requests', '1'],
      { env: rgw.env, stdio: 'ignore' },
    );
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let running = true;
    void exited.then(() => (running = false));
    let left = start;
    while (running && left === start) {
      await new Promise((r) => setTimeout(r, 20));
      left = await garbage();
    }
    child.kill('SIGKILL');
    await exited;
    process.stderr.write(`[killed gc] ${start - (await garbage())} of ${start} garbage keys deleted before SIGKILL\n`);
    const again = await startRegistry('', { s3: k });
    try {
      assert.ok(await pulls(again, 'live/app', 'v1'), 'served after the kill');
    } finally {
      await again.stop();
    }
    const rerun = gcOn(kUrl, kdb, ['--min-age', '0s', '--apply']);
    assert.equal(rerun.result?.skipped, 0);
    assert.equal(await garbage(), 0, 'the rerun finished the job');
    assert.ok(![...(await objects(k.bucket, V2)).keys()].some((x) => x.endsWith('.lock')));
    assert.deepEqual(eligible(dryRun(k), 'blob'), []);
    const last = await startRegistry('', { s3: k });
    try {
      assert.deepEqual(await catalog(last), ['live/app']);
      assert.ok(await pulls(last, 'live/app', 'v1'));
    } finally {
      await last.stop();
    }
  });
});
