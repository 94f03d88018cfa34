/**
 * `regaudit gc --apply` against storage written by the real registry (docker-registry 2.8): pushes
 * with skopeo-compatible images, API deletes, a multi-arch index, nested names, an upload left open.
 * - after the apply, the registry's own `garbage-collect --dry-run` finds nothing to delete; every tag
 *   pulls; /v2/_catalog lists exactly the live repositories; blob bytes on disk dropped by exactly the
 *   plan's total;
 * - with --delete-untagged the multi-arch image 2.8's own -m breaks pulls for every platform;
 * - restore of a quarantine batch gives back a storage on which the registry serves every deleted image.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eligibleForDeletion as eligible, garbageCollect, pulls, requireRegistryTools } from '../helpers/registry.js';
import { runArgs, runCliJson } from '../helpers/cli.js';
import { duBlobs } from '../helpers/du.js';
import type { GcJson } from '../helpers/json.js';
import {
  assertFreedThePlan,
  assertServedAfterDeleteUntagged,
  assertServedAfterGc,
  assertServedAfterRestore,
  pushGcHistory as populate,
  type GcPushed as Pushed,
} from '../helpers/scenario.js';
import { workspace, type Workspace } from './support.js';

const tools = requireRegistryTools();

describe('real registry: regaudit gc --apply', { skip: tools.skip || undefined, timeout: 300_000 }, () => {
  let ws: Workspace;
  let pushed: Pushed;
  const blobs = (): number => duBlobs(path.join(ws.root, 'docker/registry/v2/blobs'));
  const gc = (extra: string[]): GcJson => {
    const r = runCliJson<GcJson>(['gc', ws.root, '--db', ws.db, '--format', 'json', '--quiet', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return r.json;
  };

  before(async () => {
    ws = workspace();
    pushed = await populate(await ws.restart());
    await ws.stop();
  });
  after(() => ws?.dispose());

  it('the plan equals what garbage-collect --dry-run would delete', () => {
    const plan = gc(['--min-age', '0s', '--upload-age', '0s']);
    assert.deepEqual(plan.blocked, []);
    const dry = garbageCollect(ws.root, { dryRun: true });
    assert.equal(dry.code, 0, dry.stderr);
    const ours = plan.items.filter((i) => i.kind === 'blob').map((i) => i.digest!);
    assert.ok(ours.length >= 3, `lib's and pending's blobs: ${ours.join(', ')}`);
    assert.deepEqual(ours.sort(), eligible(dry.stdout, 'blob'));
    assert.deepEqual(
      plan.items.filter((i) => i.kind === 'repository').map((i) => i.repository),
      ['lib', 'pending'],
    );
    assert.equal(plan.totals.uploads, 1);
    assert.equal(plan.totals.manifests, 0, 'no --delete-untagged');
  });

  it('--apply: nothing left for the registry GC, every tag pulls, catalog = live repositories, bytes drop by the plan', async () => {
    const before = blobs();
    const res = gc(['--apply', '--min-age', '0s', '--upload-age', '0s']);
    assertFreedThePlan(res, before, blobs());
    const dry = garbageCollect(ws.root, { dryRun: true });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(eligible(dry.stdout, 'blob'), []);
    const reg = await ws.restart();
    try {
      await assertServedAfterGc(reg, pushed);
    } finally {
      await ws.stop();
    }
    const again = gc(['--min-age', '0s', '--upload-age', '0s']);
    assert.deepEqual(again.items, [], 'a second plan is empty');
  });

  it('--delete-untagged --apply: the old revision goes, the index children stay, every platform pulls', async () => {
    const res = gc(['--apply', '--delete-untagged', '--min-age', '0s']);
    const manifests = res.items.filter((i) => i.kind === 'manifest');
    assert.deepEqual(
      manifests.map((m) => [m.repository, m.digest]),
      [['app', pushed.appOld.digest]],
    );
    const dry = garbageCollect(ws.root, { dryRun: true });
    assert.deepEqual(eligible(dry.stdout, 'blob'), [], JSON.stringify([res, dry.stdout]));
    const reg = await ws.restart();
    try {
      await assertServedAfterDeleteUntagged(reg, pushed);
    } finally {
      await ws.stop();
    }
  });
});

describe('real registry: gc --quarantine and restore', { skip: tools.skip || undefined, timeout: 300_000 }, () => {
  let ws: Workspace;
  let pushed: Pushed;
  let qdir: string;

  before(async () => {
    ws = workspace();
    qdir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-gcq-'));
    pushed = await populate(await ws.restart());
    await ws.stop();
  });
  after(async () => {
    await ws?.dispose();
    rmSync(qdir, { recursive: true, force: true });
  });

  it('restore brings back a storage on which the registry serves every deleted image again', async () => {
    const before = duBlobs(path.join(ws.root, 'docker/registry/v2/blobs'));
    const r = runCliJson<GcJson>(
      runArgs('gc', ws.root, ws.db, { apply: true, quarantine: qdir, extra: ['--quiet', '--delete-untagged'] }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json.batch, 'a batch');
    assert.ok(r.json.totals.blobs > 0 && r.json.totals.manifests === 1);
    let reg = await ws.restart();
    assert.equal(await pulls(reg, 'app', pushed.appOld.digest), false);
    await ws.stop();
    const back = runCliJson<{ restored: string[] }>(['restore', r.json.batch, '--format', 'json']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(duBlobs(path.join(ws.root, 'docker/registry/v2/blobs')), before, 'every blob byte is back');
    reg = await ws.restart();
    try {
      await assertServedAfterRestore(reg, pushed);
    } finally {
      await ws.stop();
    }
  });
});
