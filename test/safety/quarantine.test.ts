/**
 * prune --apply --quarantine DIR, restore, quarantine list|purge, and the journal (index + JSON):
 * the parts move instead of being deleted, the journal says what was planned and done, restore
 * puts the storage back byte-, owner- and nanosecond-mtime-exact, and refuses to overwrite.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runArgs, runCli } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';
import type { Digest } from '../../src/layout/digest.js';
import { pathFor } from '../../src/layout/paths.js';
import {
  V2,
  assertSameSnapshot,
  cliFails,
  cliJson,
  emptyRepo,
  linkTo,
  liveRepo,
  mountTmpfs,
  requireRoot,
  storageSnapshot,
  workDir,
  writeStorage,
  type PruneJson,
  deletedBy,
} from './support.js';

const EMPTY = ['a', 'ns/b', 'solo/deep/x', 'ünï cødé'];
const LIVE = ['live', 'ns/b/c'];

function build(root: string): string {
  return writeStorage(root, {
    ...Object.assign({}, ...EMPTY.map((n) => emptyRepo(n))),
    ...Object.assign({}, ...LIVE.map((n) => liveRepo(n))),
    // an abandoned upload inside an empty repository, and an empty namespace directory
    [`repositories/a/_uploads/0b6e7b2c-1111-4222-8333-944445555666/startedat`]: '2020-01-01T00:00:00Z',
    [`repositories/a/_uploads/0b6e7b2c-1111-4222-8333-944445555666/data`]: 'partial',
    'repositories/junk/empty/': null,
  });
}

const deleted = deletedBy;
const batchesIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
const journalOf = (batch: string): any => JSON.parse(readFileSync(path.join(batch, 'journal.json'), 'utf8'));

/** The prune runs of the index journal, newest first (`journal --format json`). */
const journalRuns = (db: string): any[] => cliJson<{ runs: any[] }>(['journal', '--db', db, '--format', 'json']).runs;
/** The actions of one run of the index journal (`journal --run ID --format json`). */
const journalActions = (db: string, run: number | undefined): any[] =>
  cliJson<{ actions: any[] }>(['journal', '--db', db, '--format', 'json', '--run', String(run)]).actions;

describe('quarantine, journal and restore', () => {
  const work = workDir('quarantine');
  /** A storage built under the test's work directory as NAME, its index NAME.db and quarantine NAME-q. */
  const fresh = (name: string): { root: string; v2: string; qdir: string; db: string } => {
    const root = path.join(work(), name);
    return { root, v2: build(root), qdir: path.join(work(), `${name}-q`), db: path.join(work(), `${name}.db`) };
  };

  it('moves exactly the planned parts into DIR/<batch>, journals it, and restore puts storage back exactly', () => {
    const { root, v2, qdir, db } = fresh('exact');
    const pristine = storageSnapshot(root);

    const out = cliJson<PruneJson>(runArgs('prune', root, db, { apply: true, age: '1h', quarantine: qdir }));
    assert.deepEqual(deleted(out), [...EMPTY].sort());
    assert.ok(out.quarantine?.batch, JSON.stringify(out.quarantine));
    const batch = out.quarantine.batch;
    assert.equal(out.quarantine.resumed, false);
    assert.deepEqual(batchesIn(qdir), [path.basename(batch)]);
    for (const r of out.repositories.filter((x) => x.deleted))
      assert.equal(r.quarantined, path.posix.join(batch, 'repositories', r.name));

    // storage: the empty repositories' parts and the emptied directories are gone, everything else is untouched
    for (const n of EMPTY)
      for (const p of ['_layers', '_manifests', '_uploads'])
        assert.ok(!existsSync(path.join(v2, 'repositories', n, p)), `${n}/${p}`);
    assert.ok(!existsSync(path.join(v2, 'repositories/solo')), 'namespace directories left empty are removed');
    assert.ok(!existsSync(path.join(v2, 'repositories/junk')), 'empty directories are removed');
    const now = storageSnapshot(root);
    for (const [k, v] of pristine) {
      if (LIVE.some((n) => k.startsWith(`repositories/${n}/_`)) || k.startsWith('blobs/'))
        assert.equal(now.get(k), v, k);
    }
    // the batch holds the parts, byte for byte
    assert.equal(
      readFileSync(path.join(batch, 'repositories/a/_uploads/0b6e7b2c-1111-4222-8333-944445555666/data'), 'utf8'),
      'partial',
    );
    assert.ok(
      existsSync(path.join(batch, 'repositories/ünï cødé/_manifests/tags')),
      'empty directories inside parts are kept',
    );

    // JSON journal: plan, outcome, version, dates of every directory it changed
    const j = journalOf(batch);
    assert.equal(j.format, 'regaudit-quarantine/1');
    assert.equal(j.status, 'complete');
    assert.equal(j.root, v2);
    assert.equal(j.runs.length, 1);
    assert.match(j.runs[0].toolVersion, /^\d+\.\d+\.\d+/);
    assert.equal(j.runs[0].status, 'complete');
    assert.deepEqual(
      j.runs[0].planned
        .filter((a: any) => a.kind === 'repository')
        .map((a: any) => a.target)
        .sort(),
      [...EMPTY].sort(),
    );
    assert.deepEqual(
      j.runs[0].done
        .filter((a: any) => a.outcome === 'quarantined' && a.kind === 'repository')
        .map((a: any) => a.target)
        .sort(),
      [...EMPTY].sort(),
    );
    assert.deepEqual(j.repositories.a, ['_layers', '_manifests', '_uploads']);
    for (const d of [
      'repositories',
      'repositories/solo',
      'repositories/solo/deep',
      'repositories/solo/deep/x',
      'repositories/junk/empty',
    ])
      assert.ok(j.directories[d], d);

    // index journal
    const runs = journalRuns(db);
    assert.equal(runs.length, 1);
    assert.equal(runs[0].mode, 'quarantine');
    assert.equal(runs[0].status, 'complete');
    assert.equal(runs[0].quarantineBatch, batch);
    assert.equal(runs[0].id, out.journalRun);
    const actions = journalActions(db, out.journalRun);
    const byTarget = new Map(actions.map((a) => [a.target, a]));
    for (const n of EMPTY) assert.equal(byTarget.get(n)?.outcome, 'quarantined', n);
    assert.ok(
      actions.every((a) => a.outcome !== null),
      'every planned action has an outcome',
    );

    const list = cliJson<{ batches: any[] }>(['quarantine', 'list', qdir, '--format', 'json']).batches;
    assert.equal(list.length, 1);
    assert.equal(list[0].status, 'complete');
    assert.equal(list[0].repositories, EMPTY.length);

    const restored = cliJson<{ repositories: Array<{ name: string }> }>(['restore', batch, '--format', 'json']);
    assert.deepEqual(restored.repositories.map((r) => r.name).sort(), [...EMPTY].sort());
    assertSameSnapshot(pristine, storageSnapshot(root), 'storage after restore');
    assert.equal(journalOf(batch).status, 'restored');
    cliFails(['restore', batch], /already restored/);
  });

  it('refuses a quarantine directory inside repositories/ or blobs/, also through a symlink, before anything happens', () => {
    const { root, v2, db } = fresh('inside');
    const pristine = storageSnapshot(root);
    symlinkSync(path.join(v2, 'repositories'), path.join(work(), 'sneaky'));
    for (const dir of [
      path.join(v2, 'repositories'),
      path.join(v2, 'repositories/q'),
      path.join(v2, 'blobs/q'),
      path.join(work(), 'sneaky/q'),
    ]) {
      for (const apply of [['--apply'], []]) {
        cliFails(
          ['prune', root, '--db', db, '--min-age', '0s', '--quarantine', dir, ...apply],
          /inside the storage's (repositories|blobs)\//,
        );
      }
    }
    assertSameSnapshot(pristine, storageSnapshot(root), 'storage');
    assert.ok(!existsSync(db), 'refused before the scan');
  });

  it('restore refuses a repository re-created since and restores nothing', () => {
    const { root, qdir, db } = fresh('recreated');
    const out = cliJson<PruneJson>(runArgs('prune', root, db, { apply: true, quarantine: qdir }));
    const batch = out.quarantine!.batch!;
    // a push re-creates `a` (the 2.x marker appears first)
    new StorageTree(root).file(
      pathFor({ kind: 'layerLink', repo: 'a', digest: linkTo('new layer') as Digest }),
      linkTo('new layer'),
    );
    const storage = storageSnapshot(root);
    cliFails(
      ['restore', batch],
      /restore refused, nothing was restored: a has been re-created since \(_layers exists in storage\)/,
    );
    assertSameSnapshot(storage, storageSnapshot(root), 'storage');
    assert.equal(journalOf(batch).status, 'complete');
    assert.equal(readdirSync(path.join(batch, 'repositories/a')).sort().join(' '), '_layers _manifests _uploads');
  });

  it('journals dry runs and delete runs in the index too', () => {
    const { root, db } = fresh('journal');
    cliJson(['prune', root, '--db', db, '--format', 'json', '--min-age', '0s']);
    const applied = cliJson<PruneJson>(runArgs('prune', root, db, { apply: true }));
    const runs = journalRuns(db);
    assert.deepEqual(
      runs.map((r) => [r.mode, r.status]),
      [
        ['delete', 'complete'],
        ['dry-run', 'complete'],
      ],
    );
    const dry = journalActions(db, runs[1].id);
    assert.ok(dry.length > 0 && dry.every((a) => a.outcome === null), 'a dry run plans, does nothing');
    const done = journalActions(db, applied.journalRun);
    assert.deepEqual(
      done
        .filter((a) => a.outcome === 'deleted')
        .map((a) => a.target)
        .sort(),
      [...EMPTY].sort(),
    );
    assert.match(runCli(['journal', '--db', db]).stdout, /delete\s+│ complete/);
    cliFails(['journal', '--db', db, '--run', '99'], /no prune run 99/);
  });

  it('a killed quarantine run is resumed into the same batch by the next prune', () => {
    const { root, qdir, db } = fresh('resume');
    const pristine = storageSnapshot(root);
    const args = runArgs('prune', root, db, { apply: true, quarantine: qdir });
    // calls 1-5 create the batch, 6-8 the deepest repository's directory in it, 9 moves its _manifests:
    // killed before its _layers moves
    const killed = runCli(args, { env: { REGAUDIT_CRASH_AT: '10' } });
    assert.equal(killed.code, -1, 'killed by SIGKILL');
    const [first] = batchesIn(qdir);
    assert.ok(first);
    assert.equal(journalOf(path.join(qdir, first)).status, 'running');
    assert.ok(existsSync(path.join(qdir, first, 'repositories/solo/deep/x/_manifests')), 'first part moved');
    assert.ok(existsSync(path.join(root, V2, 'repositories/solo/deep/x/_layers')), 'second part not yet');
    const out = cliJson<PruneJson>(args);
    assert.equal(out.quarantine?.resumed, true);
    assert.deepEqual(batchesIn(qdir), [first]);
    const j = journalOf(path.join(qdir, first));
    assert.deepEqual(
      j.runs.map((r: any) => r.status),
      ['running', 'complete'],
    );
    assert.equal(j.status, 'complete');
    cliJson(['restore', path.join(qdir, first), '--format', 'json']);
    assertSameSnapshot(pristine, storageSnapshot(root), 'storage after kill, rerun, restore');
  });

  it('quarantine purge --older-than removes finished batches past the cut-off, keeps the rest, and finishes a killed purge', () => {
    const qdir = path.join(work(), 'purge-q');
    const batches: string[] = [];
    for (const name of ['p1', 'p2', 'p3']) {
      const { root, db } = fresh(name);
      const out = cliJson<PruneJson>(runArgs('prune', root, db, { apply: true, quarantine: qdir }));
      batches.push(out.quarantine!.batch!);
    }
    // p1 finished 40 days ago, p2 today; p3 is left running by a killed prune; plus a directory that is no batch
    const j1 = journalOf(batches[0]!);
    j1.runs.at(-1).finishedAt = new Date(Date.now() - 40 * 86_400_000).toISOString();
    writeFileSync(path.join(batches[0]!, 'journal.json'), JSON.stringify(j1));
    const j3 = journalOf(batches[2]!);
    j3.status = 'running';
    j3.runs.at(-1).finishedAt = new Date(Date.now() - 40 * 86_400_000).toISOString();
    writeFileSync(path.join(batches[2]!, 'journal.json'), JSON.stringify(j3));
    mkdirSync(path.join(qdir, 'not-a-batch'));

    const dry = cliJson<{ batches: any[] }>([
      'quarantine',
      'purge',
      qdir,
      '--older-than',
      '30d',
      '--dry-run',
      '--format',
      'json',
    ]).batches;
    assert.deepEqual(
      dry.filter((b) => b.action === 'purge').map((b) => b.path),
      [batches[0]],
    );
    assert.equal(batchesIn(qdir).length, 4, 'dry run removes nothing');

    // killed right after the rename aside: the batch is gone from the list, its data still on disk
    const byDefault = runCli(['quarantine', 'purge', qdir, '--older-than', '30d']);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.match(byDefault.stdout, /dry run|would/i);
    assert.equal(batchesIn(qdir).length, 4, 'without --apply, purge is a dry run');
    const killed = runCli(['quarantine', 'purge', qdir, '--older-than', '30d', '--apply'], {
      env: { REGAUDIT_CRASH_AT: '2' },
    });
    assert.equal(killed.code, -1);
    assert.ok(readdirSync(qdir).some((n) => n.startsWith('.purging-')));
    const purged = cliJson<{ batches: any[] }>([
      'quarantine',
      'purge',
      qdir,
      '--older-than',
      '30d',
      '--apply',
      '--format',
      'json',
    ]).batches;
    assert.deepEqual(
      purged.filter((b) => b.done).map((b) => b.path),
      [],
    );
    assert.ok(!readdirSync(qdir).some((n) => n.startsWith('.purging-')), 'the killed purge was finished');
    assert.deepEqual(batchesIn(qdir), [path.basename(batches[1]!), path.basename(batches[2]!), 'not-a-batch'].sort());
    const kept = new Map(purged.map((b) => [b.name, b.reason]));
    assert.match(kept.get(path.basename(batches[2]!)), /unfinished prune/);
    assert.match(kept.get('not-a-batch'), /not a quarantine batch/);
    cliFails(['quarantine', 'purge', qdir], /older-than/);
    cliFails(['quarantine', 'list', path.join(work(), 'nowhere')], /no such quarantine directory/);
  });
});

const root = requireRoot('the cross-filesystem quarantine test');

describe('quarantine across filesystems (tmpfs)', { skip: root.skip || undefined }, () => {
  let unmount: (() => void) | undefined;
  after(() => unmount?.());
  const work = workDir('quarantine-xfs');
  before(() => {
    unmount = mountTmpfs(path.join(work(), 'q'), 16 * 1024);
  });

  it('copies, verifies, then removes; restore copies back; storage ends exactly as it was', () => {
    const rootDir = path.join(work(), 'storage');
    const v2 = build(rootDir);
    const pristine = storageSnapshot(rootDir);
    const qdir = path.join(work(), 'q/batches');
    const db = path.join(work(), 'x.db');
    const out = cliJson<PruneJson>(runArgs('prune', rootDir, db, { apply: true, quarantine: qdir }));
    assert.deepEqual(deleted(out), [...EMPTY].sort());
    const batch = out.quarantine!.batch!;
    assert.ok(
      !existsSync(path.join(v2, 'repositories/a/_regaudit_trash')),
      'originals removed after the verified copy',
    );
    assert.deepEqual(readdirSync(path.join(batch, 'repositories/a')).sort(), ['_layers', '_manifests', '_uploads']);
    cliJson(['restore', batch, '--format', 'json']);
    assertSameSnapshot(pristine, storageSnapshot(rootDir), 'storage after a cross-filesystem round trip');
  });
});
