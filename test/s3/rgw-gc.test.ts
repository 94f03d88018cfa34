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
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCeph, type Ceph } from '../helpers/ceph.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import type { GcJson } from '../helpers/json.js';
import { killOnceItDeletes } from '../helpers/kill-points.js';
import {
  eligibleForDeletion as eligible,
  garbageCollect,
  pulls,
  startRegistry,
  type S3Storage,
} from '../helpers/registry.js';
import {
  assertFreedThePlan,
  assertServedAfterDeleteUntagged,
  assertServedAfterGc,
  assertServedAfterRestore,
  pushGcHistory,
  pushThenCollect,
  withRegistry,
  type GcPushed as Pushed,
} from '../helpers/scenario.js';
import {
  assertOnlyLiveApp,
  deleteObject,
  objectsUnder,
  pushLiveApp,
  putObject,
  rgwSuiteSkip,
  s3Client,
} from './support.js';

const skip = rgwSuiteSkip();

/** The history of the filesystem gc test (test/e2e/gc-apply-equality.test.ts), through the s3 driver. */
const populate = (storage: S3Storage): Promise<Pushed> =>
  pushThenCollect(() => startRegistry('', { s3: storage }), pushGcHistory, { gc: false });

const V2 = 'reg/docker/registry/v2/';

describe('object storage: gc on a bucket', { skip, timeout: 900_000 }, () => {
  let rgw: Ceph;
  let work = '';

  /** Every key under `prefix` with its size. */
  const objects = (bucket: string, prefix: string): Promise<Map<string, number>> => objectsUnder(rgw, bucket, prefix);
  const blobBytes = async (s: S3Storage): Promise<number> =>
    [...(await objects(s.bucket, `${V2}blobs/`)).values()].reduce((n, b) => n + b, 0);
  const dryRun = (s: S3Storage) => {
    const dry = garbageCollect({ s3: s }, { dryRun: true });
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
      pushed = await populate(storage);
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
      await putObject(rgw, storage.bucket, late, `sha256:${'0'.repeat(64)}`);
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
      await deleteObject(rgw, storage.bucket, late);
    });

    it('--apply: nothing left for the registry GC, every tag pulls, catalog = live repositories, bytes drop by the plan', async () => {
      const before = await blobBytes(storage);
      const res = gc(['--apply', '--min-age', '0s', '--upload-age', '0s']);
      assertFreedThePlan(res, before, await blobBytes(storage));
      assert.ok(res.items.every((i) => i.outcome === 'deleted'));
      // Requests by kind: a listing before anything goes, and DeleteObjects of up to 1,000 keys.
      assert.ok((res.requests?.LIST ?? 0) > 0 && (res.requests?.DELETE ?? 0) > 0, JSON.stringify(res.requests));
      assert.equal(res.requests?.COPY, 0);
      assert.ok(!(await objects(storage.bucket, V2)).has(`${V2}.regaudit-prune.lock`), 'lock released');
      assert.deepEqual(eligible(dryRun(storage), 'blob'), []);
      await withRegistry(
        () => startRegistry('', { s3: storage }),
        (reg) => assertServedAfterGc(reg, pushed),
      );
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
      await withRegistry(
        () => startRegistry('', { s3: storage }),
        (reg) => assertServedAfterDeleteUntagged(reg, pushed),
      );
    });
  });

  it('--quarantine s3:// and restore: the registry serves every deleted image again', async () => {
    const storage = await rgw.storage('gcq', 'reg');
    const url = `s3://${storage.bucket}/reg`;
    const pushed = await populate(storage);
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
    await withRegistry(
      () => startRegistry('', { s3: storage }),
      async (reg) => assert.equal(await pulls(reg, 'app', pushed.appOld.digest), false),
    );
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
    await withRegistry(
      () => startRegistry('', { s3: storage }),
      (reg) => assertServedAfterRestore(reg, pushed),
    );
  });

  it('SIGKILL during the apply: a rerun takes the stale lock over and finishes; the live image still pulls', async () => {
    const k = await rgw.storage('gckilled', 'reg');
    const kUrl = `s3://${k.bucket}/reg`;
    await pushLiveApp(k);
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
    await killOnceItDeletes(
      ['gc', kUrl, '--db', kdb, '--min-age', '0s', '--apply', '--quiet', '--requests', '1'],
      rgw.env,
      garbage,
      start,
      20,
    );
    process.stderr.write(`[killed gc] ${start - (await garbage())} of ${start} garbage keys deleted before SIGKILL\n`);
    await withRegistry(
      () => startRegistry('', { s3: k }),
      async (again) => assert.ok(await pulls(again, 'live/app', 'v1'), 'served after the kill'),
    );
    const rerun = gcOn(kUrl, kdb, ['--min-age', '0s', '--apply']);
    assert.equal(rerun.result?.skipped, 0);
    assert.equal(await garbage(), 0, 'the rerun finished the job');
    assert.ok(![...(await objects(k.bucket, V2)).keys()].some((x) => x.endsWith('.lock')));
    assert.deepEqual(eligible(dryRun(k), 'blob'), []);
    await assertOnlyLiveApp(k);
  });
});
