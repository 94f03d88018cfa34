/**
 * Hostile and broken input: each case gets a clear result (a finding, a skip with a reason, or one
 * stderr line with exit 2), never a crash, a hang, or a deletion outside the plan.
 * Cases that need permissions to bite, mounts or a full disk run as root (CI does) and drop to
 * uid 65534 with setpriv where EACCES must be real.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { generateTree } from '../../scripts/gen-tree.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import type { ReportJson } from '../helpers/json.js';
import {
  V2,
  assertSameSnapshot,
  bindReadOnly,
  cliFails,
  cliJson,
  emptyRepo,
  explain,
  giveToNobody,
  hex,
  liveRepo,
  memTempDir,
  mountTmpfs,
  requireRoot,
  runCliAsNobody,
  snapshot,
  spawnCli,
  storageSnapshot,
  workDir,
  writeStorage,
  type PruneJson,
  deletedBy,
  pruneArgs,
} from './support.js';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3') as typeof import('better-sqlite3');

const deleted = deletedBy;
const reasonOf = (p: PruneJson, name: string): string | undefined =>
  p.repositories.find((r) => r.name === name)?.reason;

describe('hostile input (any user)', () => {
  const work = workDir('hostile');

  it('symbolic links are never followed out of the root, and a symlink loop does not hang', () => {
    const root = path.join(work(), 'links');
    const outside = path.join(work(), 'outside');
    // outside the root: something that looks like an empty repository, and a file
    mkdirSync(path.join(outside, 'victim/_manifests/tags'), { recursive: true });
    mkdirSync(path.join(outside, 'victim/_layers'), { recursive: true });
    writeFileSync(path.join(outside, 'secret'), 'do not touch');
    const v2 = writeStorage(root, {
      ...emptyRepo('plain'),
      ...liveRepo('live'),
      ...emptyRepo('loop/r'),
      'repositories/partlink/_layers/': null,
      ...emptyRepo('linkfile'),
    });
    symlinkSync(outside, path.join(v2, 'repositories/escape'));
    symlinkSync(path.join(outside, 'victim/_manifests'), path.join(v2, 'repositories/partlink/_manifests'));
    symlinkSync('..', path.join(v2, 'repositories/loop/up'));
    symlinkSync('self', path.join(v2, 'repositories/loop/self'));
    symlinkSync(
      path.join(outside, 'secret'),
      path.join(v2, 'repositories/linkfile/_manifests/revisions/sha256', hex('linkfile gone'), 'link'),
    );
    symlinkSync('/', path.join(v2, 'blobs/sha512'));
    const before = snapshot(outside);

    const rep = runCli(['report', root, '--db', path.join(work(), 'links.db'), '--format', 'json'], {});
    assert.equal(rep.code, 0, explain(rep, ['report']));
    const all = (JSON.parse(rep.stdout) as ReportJson).findings;
    const links = all
      .filter((f) => /^symlink:|symbolic link/.test(f.message))
      .map((f) => f.path)
      .sort();
    for (const p of [
      'repositories/escape',
      'repositories/loop/up',
      'repositories/loop/self',
      'repositories/partlink/_manifests',
    ]) {
      assert.ok(links.includes(p), `${p} reported as a symbolic link: ${links}`);
    }
    assert.ok(
      all.some((f) => f.path === 'blobs/sha512'),
      'the symlink under blobs/ is reported, not walked',
    );
    assert.ok(!all.some((f) => f.path?.startsWith('blobs/sha512/')), 'nothing below it was read');
    // Skipped repositories it could not read: a partial result, exit 23.
    const out = cliJson<PruneJson>([...pruneArgs(root, path.join(work(), 'links.db')), '--apply'], {}, 23);
    assert.deepEqual(deleted(out), ['loop/r', 'plain']);
    assert.equal(reasonOf(out, 'partlink'), 'unreadable', 'a symlinked part makes the contents unknown');
    assert.equal(reasonOf(out, 'linkfile'), 'unreadable', 'a symlinked link file is not read through');
    assertSameSnapshot(before, snapshot(outside), 'outside the root');
    for (const l of [
      'repositories/escape',
      'repositories/loop/up',
      'repositories/loop/self',
      'repositories/partlink/_manifests',
    ]) {
      assert.ok(existsSync(path.join(v2, l)) || spawnSync('test', ['-L', path.join(v2, l)]).status === 0, `${l} kept`);
    }
  });

  it('a symbolic-link repositories/ is read (the registry follows it) but nothing is deleted through it', () => {
    const root = path.join(work(), 'linkedrepos');
    const elsewhere = path.join(work(), 'elsewhere');
    const v2 = writeStorage(root, {});
    rmSync(path.join(v2, 'repositories'), { recursive: true });
    writeStorage(elsewhere, emptyRepo('far'));
    symlinkSync(path.join(elsewhere, V2, 'repositories'), path.join(v2, 'repositories'));
    const before = snapshot(elsewhere);
    const out = cliJson<PruneJson>([...pruneArgs(root, path.join(work(), 'linkedrepos.db')), '--apply']);
    assert.deepEqual(deleted(out), []);
    assert.equal(reasonOf(out, 'far'), 'changed-since-scan');
    assert.match(out.repositories[0]!.detail ?? '', /symbolic link/);
    assertSameSnapshot(before, snapshot(elsewhere), 'the link target');
  });

  it('link files that are empty, huge, binary or hold a newline are findings, and never make a repository deletable', () => {
    const root = path.join(work(), 'badlinks');
    const rev = (name: string): string => `repositories/${name}/_manifests/revisions/sha256/${hex(name)}/link`;
    const v2 = writeStorage(root, {
      ...emptyRepo('empty-link'),
      [rev('empty-link')]: '',
      ...emptyRepo('huge-link'),
      [`repositories/huge-link/_manifests/tags/latest/current/link`]: '',
      ...emptyRepo('binary-link'),
      [rev('binary-link')]: Buffer.from([0, 1, 2, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe, 0x0a, 0x0d]),
      ...emptyRepo('newline-link'),
      [rev('newline-link')]: `sha256:${hex('newline-link')}\n`,
      // garbage in _layers only: layer links are not liveness, the repository is empty
      ...emptyRepo('garbage-layer'),
      [`repositories/garbage-layer/_layers/sha256/${hex('x')}/link`]: 'not a digest',
    });
    // 64 MiB, sparse: read no further than a link can be long
    truncateSync(path.join(v2, 'repositories/huge-link/_manifests/tags/latest/current/link'), 64 * 1024 * 1024);
    const db = path.join(work(), 'badlinks.db');
    const started = Date.now();
    const rep = cliJson<ReportJson>(['report', root, '--db', db, '--format', 'json']);
    assert.ok(Date.now() - started < 30_000);
    const invalid = new Map(
      rep.findings.filter((f) => f.kind === 'invalid-link').map((f) => [f.repository, f.message]),
    );
    assert.match(invalid.get('empty-link') ?? '', /empty/);
    assert.match(invalid.get('huge-link') ?? '', /too-large/);
    assert.match(invalid.get('binary-link') ?? '', /not a digest/);
    assert.match(invalid.get('newline-link') ?? '', /not a digest/);
    const states = new Map(rep.repositories.map((r) => [r.name, r.state]));
    assert.deepEqual(
      ['empty-link', 'huge-link', 'binary-link', 'newline-link', 'garbage-layer'].map((n) => states.get(n)),
      ['untagged', 'broken', 'untagged', 'untagged', 'empty'],
    );
    const table = runCli(['report', '--db', db]);
    assert.equal(table.code, 0);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(table.stdout, /[\u0000\u001b]/, 'control bytes never reach the terminal');
    const out = cliJson<PruneJson>([...pruneArgs(root, db), '--apply']);
    assert.deepEqual(deleted(out), ['garbage-layer']);
  });

  it('names with spaces, unicode, newlines and 255 characters are pruned, reported printably, and restored exactly', () => {
    const root = path.join(work(), 'names');
    const names = ['with space', 'ünïcødé/名前', 'new\nline', 'a'.repeat(255), `${'b'.repeat(200)}/${'c'.repeat(54)}`];
    writeStorage(root, {
      ...Object.assign({}, ...names.map((n) => emptyRepo(n, `seed ${names.indexOf(n)}`))),
      ...liveRepo('live'),
    });
    const pristine = storageSnapshot(root);
    const db = path.join(work(), 'names.db');
    const rep = cliJson<ReportJson>(['report', root, '--db', db, '--format', 'json']);
    for (const n of names)
      assert.ok(
        rep.repositories.some((r) => r.name === n && r.state === 'empty'),
        JSON.stringify(n),
      );
    assert.ok(rep.findings.some((f) => f.kind === 'invalid-repository-name' && f.repository === 'with space'));
    const table = runCli(['prune', root, '--db', db, '--min-age', '0s']);
    assert.match(table.stdout, /new\\x0aline/, 'a newline in a name is escaped in the table');
    const q = path.join(work(), 'names-q');
    const out = cliJson<PruneJson & { quarantine: { batch: string } }>([
      ...pruneArgs(root, db),
      '--apply',
      '--quarantine',
      q,
    ]);
    assert.deepEqual(deleted(out), [...names].sort());
    cliJson(['restore', out.quarantine.batch, '--format', 'json']);
    assertSameSnapshot(pristine, storageSnapshot(root), 'after quarantine and restore');
  });

  it('a locked index: scan and prune fail with one line; reads still work', async () => {
    const root = path.join(work(), 'lockeddb');
    writeStorage(root, { ...emptyRepo('e'), ...liveRepo('live') });
    const db = path.join(work(), 'locked.db');
    cliJson(['report', root, '--db', db, '--format', 'json']);
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))});const db=new D(${JSON.stringify(db)});db.exec('BEGIN IMMEDIATE');db.prepare("INSERT INTO scans (root, given_path, started_ms, status, tool_version) VALUES ('x','x',0,'running','x')").run();console.log('locked');setTimeout(()=>{},60000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
      });
      const before = storageSnapshot(root);
      cliFails(['scan', root, '--db', db], /index is locked by another process/);
      cliFails([...pruneArgs(root, db), '--apply'], /index is locked by another process/);
      assertSameSnapshot(before, storageSnapshot(root), 'storage');
      const rep = cliJson<ReportJson>(['report', '--db', db, '--format', 'json']);
      assert.deepEqual(rep.repositories.map((r) => r.name).sort(), ['e', 'live']);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a corrupt index, a file that is no database, and an index from a newer regaudit: one line each, storage untouched', () => {
    const root = path.join(work(), 'baddb');
    writeStorage(root, { ...emptyRepo('e'), ...liveRepo('live') });
    const before = storageSnapshot(root);
    const garbage = path.join(work(), 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(16384, 0x5a));
    for (const args of [
      ['scan', root, '--db', garbage],
      ['report', '--db', garbage],
      [...pruneArgs(root, garbage), '--apply'],
      ['journal', '--db', garbage],
    ]) {
      cliFails(args, /not a regaudit index/);
    }
    const newer = path.join(work(), 'newer.db');
    cliJson(['report', root, '--db', newer, '--format', 'json']);
    const d = new Database(newer);
    d.pragma('user_version = 999');
    d.close();
    for (const args of [
      ['scan', root, '--db', newer],
      ['report', '--db', newer],
      [...pruneArgs(root, newer), '--apply'],
      ['journal', '--db', newer],
    ]) {
      cliFails(args, /schema version 999 was written by a newer regaudit .*; upgrade regaudit$/);
    }
    // a real index whose pages were overwritten past the header
    const corrupt = path.join(work(), 'corrupt.db');
    cliJson(['report', root, '--db', corrupt, '--format', 'json']);
    const fd = openSync(corrupt, 'r+');
    writeSync(fd, Buffer.alloc(4096 * 3, 0xff), 0, 4096 * 3, 4096);
    closeSync(fd);
    for (const args of [
      ['report', '--db', corrupt],
      [...pruneArgs(root, corrupt), '--apply'],
    ])
      cliFails(args, /corrupt|not a regaudit index|malformed/);
    assertSameSnapshot(before, storageSnapshot(root), 'storage');
  });

  it('SIGINT mid-scan: one line, exit 130, and the index keeps the previous scan (nothing partial looks complete)', async () => {
    // the index already holds a complete scan of a small root; a big root's first scan is interrupted
    const small = path.join(work(), 'small');
    writeStorage(small, { ...emptyRepo('e'), ...liveRepo('live') });
    const db = path.join(work(), 'big.db');
    const first = cliJson<ReportJson>(['report', small, '--db', db, '--format', 'json']);
    let res: Awaited<ReturnType<typeof spawnCli>['done']>;
    const big = memTempDir('sigint');
    try {
      generateTree(big, { size: 30_000, seed: 7 });
      const run = spawnCli(['scan', big, '--db', db]);
      // the new index file a full scan writes (or, when it scans in place, the -wal) appears once the
      // scan is under way, after the CLI listens for signals
      const deadline = Date.now() + 30_000;
      const started = (): boolean => existsSync(`${db}.rebuild`) || existsSync(`${db}-wal`);
      while (!started() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      process.kill(run.pid, 'SIGINT');
      res = await run.done;
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
    assert.equal(res.code, 130, `scan should have been interrupted: ${res.stdout} ${res.stderr}`);
    assert.match(res.stderr, /^regaudit: interrupted by SIGINT; nothing half-done is kept/);
    assert.equal(res.stderr.trimEnd().split('\n').length, 1);
    const check = new Database(db, { readonly: true });
    try {
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
      const scans = check.prepare(`SELECT status, count(*) AS n FROM scans GROUP BY status`).all() as Array<{
        status: string;
        n: number;
      }>;
      assert.deepEqual(scans, [{ status: 'complete', n: 1 }]);
    } finally {
      check.close();
    }
    const again = cliJson<ReportJson & { root: string }>(['report', '--db', db, '--format', 'json']);
    assert.equal(again.root, path.join(small, V2), 'the newest complete scan is still the small root');
    assert.deepEqual(again.repositories, first.repositories);
  });
});

const rootOnly = requireRoot('the permission, read-only and full-disk tests');

describe(
  'hostile input (root: unreadable paths as uid 65534, read-only and full filesystems)',
  { skip: rootOnly.skip || undefined },
  () => {
    const undo: Array<() => void> = [];
    // registered first, so the mounts go before the directory does
    after(() => {
      for (const u of undo.reverse()) u();
    });
    const work = workDir('hostile-root');

    it('unreadable directories and files are reported and skipped, never taken for empty', () => {
      const root = path.join(work(), 'eacces');
      const v2 = writeStorage(root, {
        ...emptyRepo('ok'),
        ...emptyRepo('locked-manifests'),
        ...emptyRepo('locked-layers'),
        ...emptyRepo('locked-tags'),
        ...emptyRepo('locked-link'),
        [`repositories/locked-link/_manifests/revisions/sha256/${hex('locked-link')}/link`]: `sha256:${hex('locked-link')}`,
        ...emptyRepo('locked-upload'),
        'repositories/locked-upload/_uploads/6f2a1e1c-0000-4000-8000-000000000001/data': 'bytes',
        'repositories/locked-upload/_uploads/6f2a1e1c-0000-4000-8000-000000000001/startedat': '2020-01-01T00:00:00Z',
        ...emptyRepo('locked-ns/inner'),
        ...emptyRepo('not-mine/r'),
        ...liveRepo('live'),
      });
      giveToNobody(root);
      const R = (p: string): string => path.join(v2, 'repositories', p);
      chmodSync(R('locked-manifests/_manifests'), 0o000);
      chmodSync(R('locked-layers/_layers'), 0o000);
      chmodSync(R('locked-tags/_manifests/tags'), 0o000);
      chmodSync(path.join(R('locked-link/_manifests/revisions/sha256'), hex('locked-link'), 'link'), 0o000);
      chmodSync(R('locked-upload/_uploads/6f2a1e1c-0000-4000-8000-000000000001'), 0o000);
      chmodSync(R('locked-ns'), 0o000);
      // readable but not writable for the user: deleting fails with EACCES at apply time
      chownSync(R('not-mine/r'), 0, 0);
      const before = storageSnapshot(root);
      const dbDir = path.join(work(), 'eacces-db');
      mkdirSync(dbDir);
      giveToNobody(dbDir);
      const db = path.join(dbDir, 'i.db');

      const rep = runCliAsNobody(['report', root, '--db', db, '--format', 'json']);
      assert.equal(rep.code, 23, `unreadable paths: a partial result; ${explain(rep, ['report'])}`);
      const unreadable = (JSON.parse(rep.stdout) as ReportJson).findings
        .filter((f) => f.kind === 'unreadable-path')
        .map((f) => f.path ?? '');
      for (const p of [
        'locked-manifests/_manifests',
        'locked-layers/_layers',
        'locked-tags/_manifests/tags',
        'locked-ns',
      ]) {
        assert.ok(
          unreadable.some((u) => u.endsWith(p)),
          `${p} reported unreadable: ${unreadable}`,
        );
      }
      const r = runCliAsNobody([...pruneArgs(root, db), '--apply']);
      assert.equal(r.code, 23, explain(r, ['prune']));
      const out = JSON.parse(r.stdout) as PruneJson;
      assert.deepEqual(deleted(out), ['ok']);
      for (const n of ['locked-manifests', 'locked-layers', 'locked-tags', 'locked-upload'])
        assert.equal(reasonOf(out, n), 'unreadable', n);
      assert.equal(
        out.repositories.find((x) => x.name === 'locked-link'),
        undefined,
        'an unreadable revision link counts as a revision',
      );
      assert.equal(reasonOf(out, 'not-mine/r'), 'permission-denied');
      assert.match(out.repositories.find((x) => x.name === 'not-mine/r')?.detail ?? '', /permission denied/);
      // only ok's parts went (and repositories/ changed by its rmdir); everything else is as it was
      const after = storageSnapshot(root);
      for (const [k, v] of before) {
        if (k.startsWith('repositories/ok/') || k === 'repositories/') continue;
        assert.equal(after.get(k), v, k);
      }
    });

    it('a read-only storage root with --apply: one line, nothing changed; the dry run still works', () => {
      const root = path.join(work(), 'rofs');
      writeStorage(root, { ...emptyRepo('e'), ...liveRepo('live') });
      const db = path.join(work(), 'rofs.db');
      const q = path.join(work(), 'rofs-q');
      undo.push(bindReadOnly(root));
      const before = storageSnapshot(root);
      cliFails(
        [...pruneArgs(root, db), '--apply'],
        /read-only file system; nothing can be changed there \(nothing was changed\)/,
      );
      cliFails([...pruneArgs(root, db), '--apply', '--quarantine', q], /read-only file system/);
      const dry = cliJson<PruneJson>(pruneArgs(root, db));
      assert.deepEqual(
        dry.repositories.filter((x) => x.action === 'delete').map((x) => x.name),
        ['e'],
      );
      assertSameSnapshot(before, storageSnapshot(root), 'read-only storage');
    });

    it('a read-only quarantine directory: prune --apply --quarantine stops before moving anything', () => {
      const root = path.join(work(), 'roq');
      writeStorage(root, { ...emptyRepo('e'), ...liveRepo('live') });
      const q = path.join(work(), 'roq-q');
      mkdirSync(q);
      undo.push(bindReadOnly(q));
      const before = storageSnapshot(root);
      cliFails(
        [...pruneArgs(root, path.join(work(), 'roq.db')), '--apply', '--quarantine', q],
        /read-only file system/,
      );
      assertSameSnapshot(before, storageSnapshot(root), 'storage');
    });

    it('a full disk while writing the index: the scan fails with one line, the old index stays readable, nothing is deleted', () => {
      const root = path.join(work(), 'full');
      writeStorage(root, { ...emptyRepo('e'), ...liveRepo('live') });
      const dbDir = path.join(work(), 'full-db');
      undo.push(mountTmpfs(dbDir, 1024));
      const db = path.join(dbDir, 'i.db');
      cliJson(['report', root, '--db', db, '--format', 'json']);
      // more rows than the disk can take, then fill the disk
      writeStorage(root, Object.assign({}, ...Array.from({ length: 400 }, (_, i) => emptyRepo(`more/r${i}`))));
      const filler = path.join(dbDir, 'filler');
      try {
        writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'ENOSPC');
      }
      const before = storageSnapshot(root);
      cliFails(['scan', root, '--db', db], /disk full|the disk is full/);
      cliFails([...pruneArgs(root, db), '--apply'], /disk full|the disk is full/);
      assertSameSnapshot(before, storageSnapshot(root), 'nothing deleted');
      const old = cliJson<ReportJson>(['report', '--db', db, '--format', 'json']);
      assert.deepEqual(
        old.repositories.map((r) => r.name).sort(),
        ['e', 'live'],
        'the previous scan, still readable on the full disk',
      );
      rmSync(filler);
      const fresh = cliJson<ReportJson>(['report', root, '--db', db, '--format', 'json']);
      assert.equal(fresh.repositories.length, 402);
    });
  },
);
