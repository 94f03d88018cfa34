/**
 * Prune on object storage, against a REAL S3 server (Ceph RGW) written by the REAL registry's s3
 * driver: dry run changes nothing; apply deletes exactly the empty repositories' `_manifests/`,
 * `_layers/` and `_uploads/` keys (nested repositories stay); the guards hold (upload in progress,
 * --min-age, changed since the scan, the lock object); a run stopped half-way is finished by a rerun;
 * afterwards the registry lists exactly the live repositories and every surviving tag pulls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCeph, type Ceph } from '../helpers/ceph.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import type { PruneJson } from '../helpers/json.js';
import { killOnceItDeletes } from '../helpers/kill-points.js';
import { catalog, deleteTag, pulls, pushImage, startRegistry, type S3Storage } from '../helpers/registry.js';
import { pushThenCollect, withRegistry } from '../helpers/scenario.js';
import {
  EMPTY,
  LIVE,
  assertOnlyLiveApp,
  deleteObject,
  keysUnder,
  populate,
  pushLiveApp,
  putObject,
  rgwSuiteSkip,
  s3Client,
} from './support.js';

const skip = rgwSuiteSkip();

const V2 = 'reg/docker/registry/v2/';
/** A key under `_layers/`, `_manifests/` or `_uploads/` of exactly `repo` (not of a nested one). */
const isPartKey = (key: string, repo: string): boolean =>
  key.startsWith(`${V2}repositories/${repo}/`) &&
  /^_(layers|manifests|uploads)\//.test(key.slice(`${V2}repositories/${repo}/`.length));

describe('object storage: prune on a bucket', { skip, timeout: 600_000 }, () => {
  let rgw: Ceph;
  let work = '';
  let storage: S3Storage;
  let url = '';
  let db = '';
  const prune = (args: string[], code = 0): PruneJson => {
    const r = runCliJson<PruneJson>(['prune', ...args, '--db', db, '--format', 'json', '--quiet'], { env: rgw.env });
    assert.equal(r.code, code, r.stderr);
    return r.json;
  };
  const keys = () => keysUnder(rgw, storage.bucket, V2);
  const deletes = (p: PruneJson) =>
    p.repositories
      .filter((r) => r.action === 'delete' || r.action === 'deleted')
      .map((r) => r.name)
      .sort();
  const put = (key: string, body: string): Promise<void> => putObject(rgw, storage.bucket, key, body);

  before(async () => {
    rgw = await startCeph();
    work = mkdtempSync(path.join(os.tmpdir(), 'regaudit-s3prune-'));
    db = path.join(work, 'regaudit.db');
    storage = await rgw.storage('prune', 'reg');
    url = `s3://${storage.bucket}/${storage.rootDirectory}`;
    await populate(() => startRegistry('', { s3: storage }));
  });

  after(async () => {
    await rgw?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('dry run: default --min-age keeps the fresh pushes; nothing in the bucket changes', async () => {
    const before = await keys();
    const plan = prune([url]);
    assert.equal(plan.applied, false);
    assert.deepEqual(deletes(plan), []);
    for (const name of EMPTY)
      assert.equal(plan.repositories.find((r) => r.name === name)?.reason, 'recent-activity', JSON.stringify(plan));
    const zero = prune([url, '--min-age', '0s']);
    assert.deepEqual(deletes(zero), [...EMPTY, 'pending'].sort());
    assert.equal(zero.repositories.find((r) => r.name === 'uploading')?.reason, 'upload-in-progress');
    assert.deepEqual(await keys(), before);
  });

  it('a lock held by another prune: exit 2, one line, nothing deleted', async () => {
    const before = await keys();
    await put(`${V2}.regaudit-prune.lock`, JSON.stringify({ pid: 1, host: 'another-host', since: 'then' }));
    const r = runCli(['prune', url, '--db', db, '--min-age', '0s', '--apply', '--quiet'], { env: rgw.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^regaudit: s3:\/\/prune\/reg\/docker\/registry\/v2\/\.regaudit-prune\.lock: another prune holds the lock/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
    await deleteObject(rgw, storage.bucket, `${V2}.regaudit-prune.lock`);
    assert.deepEqual(await keys(), before);
  });

  it('a run stopped after its first DeleteObjects is finished by a rerun', async () => {
    const all = await keys();
    // What a kill right after the `_manifests/` request of org/team leaves: its other parts.
    const manifests = all.filter((k) => k.startsWith(`${V2}repositories/org/team/_manifests/`));
    const { client, sdk } = await s3Client(rgw);
    if (manifests.length > 0)
      await client.send(
        new sdk.DeleteObjectsCommand({
          Bucket: storage.bucket,
          Delete: { Objects: manifests.map((Key) => ({ Key })) },
        }),
      );
    client.destroy();
    assert.ok(all.some((k) => k.startsWith(`${V2}repositories/org/team/_layers/`)));
  });

  it('apply deletes exactly the empty repositories parts; the registry lists the live ones and they pull', async () => {
    const reg0 = await startRegistry('', { s3: storage });
    const catalogBefore = await catalog(reg0).finally(() => reg0.stop());
    const before = await keys();
    const applied = prune([url, '--min-age', '0s', '--apply']);
    const gone = deletes(applied);
    assert.deepEqual(gone, [...EMPTY, 'pending'].sort());
    const after = await keys();
    const expected = before.filter((k) => !gone.some((r) => isPartKey(k, r)));
    assert.deepEqual(after, expected);
    assert.ok(
      after.some((k) => k.startsWith(`${V2}repositories/org/team/app/_manifests/`)),
      'nested repo stays',
    );
    assert.ok(!after.some((k) => k.endsWith('.regaudit-prune.lock')), 'lock released');

    await withRegistry(
      () => startRegistry('', { s3: storage }),
      async (reg) => {
        const listed = await catalog(reg);
        assert.deepEqual(
          listed,
          catalogBefore.filter((n) => !gone.includes(n)),
        );
        for (const name of Object.keys(LIVE)) assert.ok(listed.includes(name), `${name} listed: ${listed}`);
        for (const [repo, tags] of Object.entries(LIVE))
          for (const t of tags) assert.ok(await pulls(reg, repo, t), `${repo}:${t} pulls`);
      },
    );
    // Nothing left for a second run.
    assert.deepEqual(deletes(prune([url, '--min-age', '0s'])), []);
  });
  it('changed since the scan: a key added after the scan keeps its repository', async () => {
    // An empty repository of its own (everything else empty is gone by now).
    await put(`${V2}repositories/scratch/_layers/sha256/${'1'.repeat(64)}/link`, `sha256:${'1'.repeat(64)}`);
    assert.deepEqual(deletes(prune([url, '--min-age', '0s'])), ['scratch']); // scan + plan
    const late = `${V2}repositories/scratch/_layers/sha256/${'0'.repeat(64)}/link`;
    await put(late, `sha256:${'0'.repeat(64)}`);
    const applied = prune(['--min-age', '0s', '--apply']); // the plan of the scan above
    const scratch = applied.repositories.find((r) => r.name === 'scratch');
    assert.equal(scratch?.reason, 'changed-since-scan', JSON.stringify(applied));
    assert.ok((await keys()).includes(late));
    await deleteObject(rgw, storage.bucket, late);
  });

  it('--quarantine s3://: copies, verifies, deletes; restore copies back and the registry lists it again', async () => {
    const q = await rgw.storage('quarantined', 'reg');
    const qUrl = `s3://${q.bucket}/reg`;
    await pushThenCollect(
      () => startRegistry('', { s3: q }),
      async (reg) => {
        await pushImage(reg, 'team', 'v1', { layers: ['team base'] });
        await deleteTag(reg, 'team', 'v1');
        await pushImage(reg, 'team/app', 'v1', { layers: ['team base', 'team app'] });
      },
      { gc: false },
    );
    await rgw.createBucket('hold');
    const qdb = path.join(work, 'q.db');
    const teamKeys = async () =>
      (await keysUnder(rgw, q.bucket, 'reg/docker/registry/v2/repositories/team/')).filter((k) =>
        isPartKey(k.replace('reg/docker/registry/v2/', V2), 'team'),
      );
    const before = await teamKeys();
    assert.ok(before.length > 0);
    const applied = runCliJson<PruneJson & { quarantine?: { batch: string | null } }>(
      [
        'prune',
        qUrl,
        '--db',
        qdb,
        '--min-age',
        '0s',
        '--apply',
        '--quarantine',
        's3://hold/q',
        '--format',
        'json',
        '--quiet',
      ],
      { env: rgw.env },
    );
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(deletes(applied.json), ['team']);
    assert.deepEqual(await teamKeys(), [], 'team parts left the root');
    const batch = applied.json.quarantine?.batch ?? '';
    assert.match(batch, /^s3:\/\/hold\/q\/batch-/);
    const held = await keysUnder(rgw, 'hold', batch.slice('s3://hold/'.length) + '/repositories/');
    assert.equal(held.length, before.length, 'every key copied into the batch');

    const r = runCli(['restore', batch, '--format', 'json'], { env: rgw.env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await teamKeys(), before, 'every key back');
    await withRegistry(
      () => startRegistry('', { s3: q }),
      async (again) => {
        assert.ok((await catalog(again)).includes('team'));
        assert.ok(await pulls(again, 'team/app', 'v1'));
      },
    );
  });

  it('SIGKILL during apply: the lock is stale, a rerun takes it over and finishes; live images still pull', async () => {
    const k = await rgw.storage('killed', 'reg');
    const kUrl = `s3://${k.bucket}/reg`;
    await pushLiveApp(k);
    const { client, sdk } = await s3Client(rgw);
    const empties = Array.from({ length: 40 }, (_, i) => `gone/r${String(i).padStart(2, '0')}`);
    try {
      await Promise.all(
        empties.flatMap((name) =>
          ['1', '2', '3'].map((c) => {
            const d = `sha256:${c.repeat(64)}`;
            return client.send(
              new sdk.PutObjectCommand({
                Bucket: k.bucket,
                Key: `reg/docker/registry/v2/repositories/${name}/_layers/sha256/${c.repeat(64)}/link`,
                Body: d,
              }),
            );
          }),
        ),
      );
    } finally {
      client.destroy();
    }
    const kdb = path.join(work, 'killed.db');
    const emptyKeys = async () => (await keysUnder(rgw, k.bucket, 'reg/docker/registry/v2/repositories/gone/')).length;
    assert.equal(await emptyKeys(), 120);
    await killOnceItDeletes(
      ['prune', kUrl, '--db', kdb, '--min-age', '0s', '--apply', '--quiet'],
      rgw.env,
      emptyKeys,
      120,
      30,
    );
    const left = await emptyKeys();
    process.stderr.write(`[killed run] ${120 - left} of 120 keys deleted before SIGKILL\n`);
    const rerun = runCliJson<PruneJson>(
      ['prune', kUrl, '--db', kdb, '--min-age', '0s', '--apply', '--format', 'json', '--quiet'],
      { env: rgw.env },
    );
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(await emptyKeys(), 0, 'the rerun finished the job');
    assert.ok(!(await keysUnder(rgw, k.bucket, 'reg/docker/registry/v2/')).some((x) => x.endsWith('.lock')));
    await assertOnlyLiveApp(k);
  });
});
