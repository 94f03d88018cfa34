/**
 * Concurrency: one prune (or restore) per storage root at a time through the lock file, stale
 * locks taken over, the lock gone on every exit; each repository re-read just before it is
 * touched (changed-since-scan); the stop-the-world advice printed with every prune.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, symlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { audit } from '../../src/audit/rules.js';
import { loadAuditInput } from '../../src/audit/load.js';
import { openIndexForWrite } from '../../src/index/open.js';
import { debris } from '../../src/index/queries.js';
import { latestScan } from '../../src/index/scans.js';
import { applyPlan } from '../../src/prune/apply.js';
import { planPrune } from '../../src/prune/plan.js';
import { scanStorage } from '../../src/scan/run.js';
import { pathFor } from '../../src/layout/paths.js';
import { runCli } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';
import {
  V2,
  assertSameSnapshot,
  cliFails,
  cliJson,
  deletedBy,
  emptyRepo,
  hex,
  liveRepo,
  spawnCli,
  storageSnapshot,
  workDir,
  writeStorage,
  type PruneJson,
  pruneArgs,
} from './support.js';

const LOCK = '.regaudit-prune.lock';

function writeLock(v2: string, holder: { pid: number; host?: string }): void {
  writeFileSync(
    path.join(v2, LOCK),
    JSON.stringify({ pid: holder.pid, host: holder.host ?? os.hostname(), since: '2026-01-01T00:00:00.000Z' }),
  );
}

describe('concurrency', () => {
  const work = workDir('concurrency');

  it('a second prune or a restore on the same root is refused while a live process holds the lock', () => {
    const root = path.join(work(), 'held');
    const v2 = writeStorage(root, { ...emptyRepo('q'), ...liveRepo('live') });
    const batch = cliJson<PruneJson>([
      ...pruneArgs(root, path.join(work(), 'held.db')),
      '--apply',
      '--quarantine',
      path.join(work(), 'held-q'),
    ]).quarantine!.batch!;
    writeStorage(root, emptyRepo('e'));
    const holder = spawn('sleep', ['60']);
    try {
      writeLock(v2, { pid: holder.pid! });
      const before = storageSnapshot(root);
      const held = new RegExp(`another prune holds the lock \\(pid ${holder.pid} on ${os.hostname()}`);
      cliFails([...pruneArgs(root, path.join(work(), 'held.db')), '--apply'], held);
      cliFails(['restore', batch], held);
      assertSameSnapshot(before, storageSnapshot(root), 'storage');
      // a dry run takes no lock
      assert.deepEqual(
        cliJson<PruneJson>(pruneArgs(root, path.join(work(), 'held.db'))).repositories.map((r) => r.action),
        ['delete'],
      );
      // a lock from another host is never taken for stale
      writeLock(v2, { pid: 1, host: 'some-other-host' });
      cliFails(
        [...pruneArgs(root, path.join(work(), 'held.db')), '--apply'],
        /another prune holds the lock \(pid 1 on some-other-host/,
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('two prunes started together: the lock lets them run one after the other, never both at once', async () => {
    const root = path.join(work(), 'race');
    writeStorage(root, {
      ...Object.assign({}, ...Array.from({ length: 150 }, (_, i) => emptyRepo(`team${i % 7}/r${i}`))),
      ...liveRepo('live'),
    });
    const runs = await Promise.all(
      [0, 1, 2].map((i) => spawnCli([...pruneArgs(root, path.join(work(), `race${i}.db`)), '--apply']).done),
    );
    for (const r of runs) {
      if (r.code !== 0) {
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /another prune holds the lock/);
      }
    }
    const ok = runs.filter((r) => r.code === 0).map((r) => deletedBy(JSON.parse(r.stdout) as PruneJson).length);
    assert.ok(ok.length >= 1);
    assert.equal(
      ok.reduce((a, b) => a + b, 0),
      150,
      `each empty repository deleted exactly once: ${ok}`,
    );
    assert.ok(!existsSync(path.join(root, V2, LOCK)));
    assert.ok(existsSync(path.join(root, V2, 'repositories/live/_manifests')));
  });

  it('a stale lock (dead process on this host) is taken over, and the lock is gone after success and after failure', () => {
    const root = path.join(work(), 'stale');
    const v2 = writeStorage(root, { ...emptyRepo('e'), ...liveRepo('live') });
    const dead = spawnSync('true').pid;
    writeLock(v2, { pid: dead });
    const out = cliJson<PruneJson>([...pruneArgs(root, path.join(work(), 'stale.db')), '--apply']);
    assert.deepEqual(deletedBy(out), ['e']);
    assert.ok(!existsSync(path.join(v2, LOCK)), 'released after a successful prune');
    // fails after taking the lock (the index is not a database): released too
    const bad = path.join(work(), 'not-a-db');
    writeFileSync(bad, Buffer.alloc(8192, 1));
    writeStorage(root, emptyRepo('e2'));
    cliFails([...pruneArgs(root, bad), '--apply'], /not a regaudit index/);
    assert.ok(!existsSync(path.join(v2, LOCK)), 'released after a failed prune');
    // killed: the lock stays, names a dead process, and the next prune takes it over
    const killed = runCli([...pruneArgs(root, path.join(work(), 'stale.db')), '--apply'], {
      env: { REGAUDIT_CRASH_AT: '2' },
    });
    assert.equal(killed.code, -1);
    assert.ok(existsSync(path.join(v2, LOCK)), 'a killed prune leaves its lock');
    assert.deepEqual(deletedBy(cliJson<PruneJson>([...pruneArgs(root, path.join(work(), 'stale.db')), '--apply'])), [
      'e2',
    ]);
    assert.ok(!existsSync(path.join(v2, LOCK)));
  });

  it('each repository is re-read just before it is touched: anything changed since the scan is skipped', async () => {
    const root = path.join(work(), 'reread');
    const names = ['untouched', 'gets-tag', 'gets-layer', 'touched', 'gets-symlink', 'gone', 'hidden-symlink'];
    const v2 = writeStorage(root, Object.assign({}, ...names.map((n) => emptyRepo(n))));
    // Beside a good link: a default scan opens the link by name and never sees it; the re-read lists everything.
    symlinkSync(
      '/etc',
      path.join(v2, 'repositories', `hidden-symlink/_layers/sha256/${hex('hidden-symlink layer')}/escape`),
    );
    const db = openIndexForWrite(':memory:');
    try {
      await scanStorage(db, root, { dbFile: ':memory:', jobs: 0 });
      const scan = latestScan(db, ':memory:');
      const now = Date.now();
      const { repositories } = audit(loadAuditInput(db, scan.id), { now, uploadAgeMs: 0 });
      const plan = planPrune(repositories, debris(db, scan.id), { now, minAgeMs: 0, uploadAgeMs: 0 });
      assert.deepEqual(
        plan.repositories
          .filter((r) => r.action === 'delete')
          .map((r) => r.name)
          .sort(),
        [...names].sort(),
      );
      // between the scan and the apply: a push tags one, links a layer into another, touches a third…
      const R = (p: string): string => path.join(v2, 'repositories', p);
      const m = `sha256:${hex('pushed')}`;
      new StorageTree(root)
        .revisionLink('gets-tag', m)
        .file(pathFor({ kind: 'tagCurrentLink', repo: 'gets-tag', tag: 'latest' }), m)
        .layerLink('gets-layer', m);
      const t = Date.now() / 1000;
      utimesSync(R('touched/_manifests/tags'), t, t);
      rmSync(R('gets-symlink/_uploads'), { recursive: true });
      symlinkSync('/tmp', R('gets-symlink/_uploads'));
      rmSync(R('gone'), { recursive: true });
      const before = storageSnapshot(root);
      const result = applyPlan(plan, { v2 });
      const by = new Map(result.repositories.map((r) => [r.name, r]));
      assert.equal(by.get('untouched')?.deleted, true);
      for (const n of ['gets-tag', 'gets-layer', 'touched', 'gets-symlink', 'gone', 'hidden-symlink']) {
        assert.equal(by.get(n)?.deleted, false, n);
        assert.equal(by.get(n)?.reason, 'changed-since-scan', n);
      }
      assert.match(by.get('gets-tag')?.detail ?? '', /tags or revisions now/);
      assert.match(by.get('gets-layer')?.detail ?? '', /contents changed/);
      assert.match(by.get('gets-symlink')?.detail ?? '', /symbolic link/);
      assert.match(by.get('hidden-symlink')?.detail ?? '', /re-read failed: .*escape is a symbolic link/);
      const after = storageSnapshot(root);
      for (const [k, v] of before)
        if (!k.startsWith('repositories/untouched/') && k !== 'repositories/') assert.equal(after.get(k), v, k);
    } finally {
      db.close();
    }
  });

  it('every prune says to stop the registry or put it in read-only mode, and to restart it afterwards', () => {
    const root = path.join(work(), 'advice');
    writeStorage(root, emptyRepo('e'));
    const db = path.join(work(), 'advice.db');
    for (const apply of [[], ['--apply']]) {
      const json = cliJson<{ advice: string }>([...pruneArgs(root, db), ...apply]);
      assert.match(json.advice, /stopped or in read-only mode \(maintenance\.readonly\.enabled: true\)/);
      assert.match(json.advice, /restart the registry/);
    }
    const text = runCli(['prune', root, '--db', db, '--min-age', '0s']).stdout;
    assert.match(text, /read-only mode/);
  });
});
