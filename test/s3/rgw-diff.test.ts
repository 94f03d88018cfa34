/**
 * diff and verify with s3:// roots, against a REAL S3 server (Ceph RGW) written by the REAL registry's
 * s3 driver: a backup from the bucket to a disk (every object downloaded, as `rclone copy` does) holds
 * everything the bucket holds; a damaged backup lacks exactly what was removed. verify refuses a bucket.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCeph, type Ceph } from '../helpers/ceph.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import { pushImage, pushIndex, repoDir, startRegistry, type S3Storage } from '../helpers/registry.js';
import { keysUnder, rgwSuiteSkip, s3Client } from './support.js';
import type { DiffJson } from '../helpers/json.js';

const skip = rgwSuiteSkip();

describe('diff between a bucket and its backup on disk', { skip, timeout: 600_000 }, () => {
  let rgw: Ceph;
  let work = '';
  let storage: S3Storage;
  let url = '';
  let backup = '';
  let removedLayer = '';
  let appV2 = '';

  before(async () => {
    rgw = await startCeph();
    work = mkdtempSync(path.join(os.tmpdir(), 'regaudit-s3diff-'));
    storage = await rgw.storage('diffed', 'reg');
    url = `s3://${storage.bucket}/${storage.rootDirectory}`;
    const reg = await startRegistry('', { s3: storage });
    try {
      await pushImage(reg, 'app', 'v1', { layers: ['base', 'app one'] });
      appV2 = (await pushImage(reg, 'app', 'v2', { layers: ['base', 'app two'] })).digest;
      const api = await pushImage(reg, 'org/team/api', '1.0', { layers: ['base', 'api layer'] });
      removedLayer = api.layerDigests[1]!;
      await pushIndex(reg, 'platform/multi', 'latest', [{ layers: ['amd'] }, { layers: ['arm'] }]);
    } finally {
      await reg.stop();
    }
    // The backup: every object under the root directory, downloaded to the same relative path.
    backup = path.join(work, 'backup');
    const { client, sdk } = await s3Client(rgw);
    try {
      for (const key of await keysUnder(rgw, storage.bucket, `${storage.rootDirectory}/`)) {
        const body = await client.send(new sdk.GetObjectCommand({ Bucket: storage.bucket, Key: key }));
        const file = path.join(backup, key.slice(storage.rootDirectory.length + 1));
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, await body.Body!.transformToByteArray());
      }
    } finally {
      client.destroy();
    }
  });
  after(async () => {
    await rgw?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const diff = (a: string, b: string, db: string, ...extra: string[]) =>
    runCliJson<DiffJson>(['diff', a, b, '--db', path.join(work, db), '--format', 'json', '--quiet', ...extra], {
      env: rgw.env,
    });

  it('the bucket and its backup on disk: no change, exit 0 with --fail-on any (both directions)', () => {
    const r = diff(url, backup, 'one.db', '--fail-on', 'any');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.a.root, `${url}/docker/registry/v2`);
    assert.deepEqual(r.json.changes, []);
    assert.equal(r.json.summary.identical, true);
    const back = diff(backup, url, 'two.db', '--fail-on', 'any');
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(back.json.changes, []);
  });

  it('a damaged backup lacks exactly the removed tag and blob (and the tags that follow)', () => {
    rmSync(path.join(repoDir(backup, 'app'), '_manifests/tags/v2'), { recursive: true });
    rmSync(path.join(backup, 'docker/registry/v2/blobs/sha256', removedLayer.slice(7, 9), removedLayer.slice(7)), {
      recursive: true,
    });
    const r = diff(url, backup, 'three.db', '--fail-on', 'missing');
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(
      r.json.changes.map((c) => `${c.kind} ${c.repository ?? ''} ${c.tag ?? ''} ${c.digest ?? ''}`.trimEnd()),
      [`blob-removed   ${removedLayer}`, `tag-removed app v2 ${appV2}`],
    );
    assert.deepEqual(r.json.summary.unpullableTags, ['app:v2', 'org/team/api:1.0']);
  });

  it('the s3 options apply to diff: a wrong endpoint is one line, exit 2', () => {
    const r = runCli(['diff', url, backup, '--db', path.join(work, 'four.db'), '--endpoint', 'http://127.0.0.1:9'], {
      env: rgw.env,
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^regaudit: [^\n]*cannot reach http:\/\/127\.0\.0\.1:9[^\n]*\n$/);
  });

  it('verify refuses the bucket, given as the root or as the root of the index scan, in one line with exit 2', () => {
    for (const args of [
      ['verify', url, '--db', path.join(work, 'v.db')],
      // two.db: the bucket was diff's B there, so its scan is the newest.
      ['verify', '--db', path.join(work, 'two.db')],
    ]) {
      const r = runCli(args, { env: rgw.env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /s3:\/\/diffed\/reg.*verify hashes files on a filesystem/);
    }
  });
});
