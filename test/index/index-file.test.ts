/**
 * The index file: its default location (XDG cache, one per storage root), REGAUDIT_DB and --db,
 * read-only opening (a reading command never writes or migrates), foreign SQLite files refused,
 * nothing created on failure, and the views for people who query the index themselves.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';
import { cliFails, requireRoot, runCliAsNobody, tempDir } from '../safety/support.js';
import { defaultIndexFile } from '../../src/index/location.js';
import { runScan } from '../../src/app/scan.js';
import { resolveRoot } from '../../src/app/root.js';

describe('index file', () => {
  let work = '';
  let env: NodeJS.ProcessEnv = {};
  let a: StorageTree;
  let b: StorageTree;
  let base = '';
  before(() => {
    work = tempDir('index-file');
    chmodSync(work, 0o755);
    // A private cache directory and no REGAUDIT_DB from the caller's environment.
    env = { XDG_CACHE_HOME: path.join(work, 'cache'), HOME: path.join(work, 'home'), REGAUDIT_DB: undefined };
    a = new StorageTree(path.join(work, 'a'));
    base = a.image('app', 'v1', ['base', 'one']).layers[0]!;
    a.image('web', 'v1', ['base', 'two']);
    a.image('solo', 'v1', ['three']);
    b = new StorageTree(path.join(work, 'b'));
    b.image('other', 'v1', ['x']);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}, cwd = work) =>
    runCli(args, { env: { ...env, ...extra }, cwd });
  const ok = (args: string[], extra: NodeJS.ProcessEnv = {}, cwd = work): string => {
    const r = cli(args, extra, cwd);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const fails = (args: string[], re: RegExp, extra: NodeJS.ProcessEnv = {}) =>
    cliFails(args, re, { run: (x) => cli(x, extra) });

  it('scan /nonexistent creates nothing: no index file, no cache directory', () => {
    fails(['scan', path.join(work, 'nonexistent')], /no such file or directory/);
    assert.equal(existsSync(env.XDG_CACHE_HOME!), false);
    fails(['scan', path.join(work, 'nonexistent'), '--db', path.join(work, 'x.db')], /no such file or directory/);
    assert.equal(existsSync(path.join(work, 'x.db')), false);
  });

  it('a first scan that fails removes the index file it created; a failed rescan keeps the index', async () => {
    const gone = new StorageTree(path.join(work, 'gone'));
    const root = resolveRoot(gone.root);
    gone.cleanup(); // resolved, then gone before the walk: the scan fails after the file was created
    const file = path.join(work, 'first.db');
    await assert.rejects(runScan(root, { dbFile: file, jobs: 0 }), /no such file or directory/);
    assert.deepEqual(
      readdirSync(work).filter((n) => n.startsWith('first.db')),
      [],
    );
    const kept = path.join(work, 'kept.db');
    await runScan(b.root, { dbFile: kept, jobs: 0 });
    await assert.rejects(runScan(root, { dbFile: kept, jobs: 0 }), /no such file or directory/);
    assert.ok(existsSync(kept));
  });

  it('by default one index per storage root in $XDG_CACHE_HOME/regaudit, found from any directory', () => {
    const elsewhere = path.join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const out = ok(['scan', a.root], {}, elsewhere);
    const file = defaultIndexFile(a.v2, env);
    assert.equal(path.dirname(file), path.join(env.XDG_CACHE_HOME!, 'regaudit'));
    assert.ok(out.includes(`→ ${file}`), out);
    assert.deepEqual(readdirSync(elsewhere), []);
    // Without a root, the only index there is.
    const report = JSON.parse(ok(['report', '--format', 'json'], {}, '/')) as { root: string };
    assert.equal(report.root, a.v2);
    // The same root by another spelling (its v2 directory) is the same index.
    ok(['usage', a.v2, '--format', 'json']);
    assert.deepEqual(
      readdirSync(path.dirname(file)).filter((n) => n.endsWith('.db')),
      [path.basename(file)],
    );
    // ~/.cache when XDG_CACHE_HOME is unset, and --help says where.
    const help = ok(['report', '--help'], { XDG_CACHE_HOME: undefined });
    assert.match(help.replace(/\s+/g, ' '), new RegExp(`${path.join(env.HOME!, '.cache', 'regaudit')}/`));
    assert.match(help, /REGAUDIT_DB/);
  });

  it('with several default indexes a command without a root asks which, naming --db', () => {
    ok(['scan', b.root]);
    fails(['report'], /2 indexes in .*: name the storage root, or pass --db/);
    fails(['journal'], /2 indexes in /);
    const r = JSON.parse(ok(['report', b.root, '--format', 'json'])) as { root: string };
    assert.equal(r.root, b.v2);
  });

  it('REGAUDIT_DB sets the index file and --db overrides it; an empty one is refused', () => {
    const envDb = path.join(work, 'env.db');
    const flagDb = path.join(work, 'flag.db');
    ok(['scan', b.root], { REGAUDIT_DB: envDb });
    assert.ok(existsSync(envDb));
    ok(['scan', a.root, '--db', flagDb], { REGAUDIT_DB: envDb });
    const fromEnv = JSON.parse(ok(['report', '--format', 'json'], { REGAUDIT_DB: envDb })) as { root: string };
    const fromFlag = JSON.parse(ok(['report', '--format', 'json', '--db', flagDb], { REGAUDIT_DB: envDb })) as {
      root: string;
    };
    assert.equal(fromEnv.root, b.v2);
    assert.equal(fromFlag.root, a.v2);
    fails(['report'], /REGAUDIT_DB\) is empty/, { REGAUDIT_DB: '' });
  });

  it('refuses a foreign SQLite database without adding anything to it', () => {
    const other = path.join(work, 'other.db');
    const d = new Database(other);
    d.exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')`);
    d.close();
    const bytes = readFileSync(other);
    for (const args of [
      ['scan', a.root, '--db', other],
      ['report', '--db', other],
      ['prune', a.root, '--db', other],
      ['journal', '--db', other],
    ])
      fails(args, /other\.db: not a regaudit index \(a SQLite database of another program\)/);
    assert.deepEqual(readFileSync(other), bytes);
    // Another program's application_id, even with no tables yet, is not ours either.
    const tagged = path.join(work, 'tagged.db');
    const t = new Database(tagged);
    t.pragma('application_id = 1234');
    t.close();
    fails(['scan', a.root, '--db', tagged], /not a regaudit index/);
    const check = new Database(tagged, { readonly: true });
    assert.equal(check.prepare(`SELECT count(*) FROM sqlite_master`).pluck().get(), 0);
    check.close();
  });

  it('a reading command on an older index says what to run and leaves the file as it was', () => {
    const old = path.join(work, 'old.db');
    ok(['scan', a.root, '--db', old]);
    const d = new Database(old);
    d.pragma('user_version = 8');
    d.pragma('wal_checkpoint(TRUNCATE)');
    d.close();
    const bytes = readFileSync(old);
    fails(['report', '--db', old], /older than this regaudit's .* run "regaudit scan <root> --db .*old\.db"/);
    fails(['usage', '--db', old], /reading commands do not upgrade it/);
    assert.deepEqual(readFileSync(old), bytes);
  });

  it('views: current scan per root, usage per repository, tag sizes, blobs shared by most repositories', () => {
    const file = path.join(work, 'views.db');
    ok(['scan', a.root, '--db', file]);
    ok(['scan', b.root, '--db', file]);
    ok(['scan', a.root, '--db', file, '--full']);
    const usage = JSON.parse(ok(['usage', '--db', file, '--format', 'json', a.root])) as {
      repositories: Array<{ repository: string; reachable: number; exclusive: number; shared: number }>;
    };
    const d = new Database(file, { readonly: true });
    try {
      const current = d.prepare(`SELECT root FROM current_scans ORDER BY root`).pluck().all();
      assert.deepEqual(current, [a.v2, b.v2].sort());
      const repos = d
        .prepare(
          `SELECT repository, reachable_bytes AS reachable, exclusive_bytes AS exclusive, shared_bytes AS shared
           FROM repository_usage WHERE root = ? ORDER BY repository`,
        )
        .all(a.v2);
      const fromCli = usage.repositories
        .map((r) => ({ repository: r.repository, reachable: r.reachable, exclusive: r.exclusive, shared: r.shared }))
        .sort((x, y) => x.repository.localeCompare(y.repository));
      assert.deepEqual(repos, fromCli);
      const tags = d.prepare(`SELECT repository, tag FROM tag_sizes WHERE root = ? ORDER BY repository`).all(a.v2);
      assert.deepEqual(tags, [
        { repository: 'app', tag: 'v1' },
        { repository: 'solo', tag: 'v1' },
        { repository: 'web', tag: 'v1' },
      ]);
      // "base" is the only layer two repositories hold.
      const shared = d.prepare(`SELECT digest, repositories, size FROM shared_blobs WHERE root = ?`).all(a.v2);
      assert.deepEqual(shared, [{ digest: base, repositories: 2, size: 4 }]);
      assert.equal(d.pragma('application_id', { simple: true }), 0x52474155);
    } finally {
      d.close();
    }
  });

  it('an index in a read-only directory can be read by an unprivileged user', (t) => {
    const can = requireRoot('reading an index as uid 65534');
    if (can.skip) return t.skip(can.skip);
    const dir = path.join(work, 'ro');
    mkdirSync(dir);
    const file = path.join(dir, 'idx.db');
    ok(['scan', a.root, '--db', file]);
    chmodSync(file, 0o444);
    chmodSync(dir, 0o555);
    const before = readdirSync(dir);
    for (const args of [
      ['report', '--db', file, '--format', 'json'],
      ['usage', '--db', file, '--format', 'json'],
      ['journal', '--db', file, '--format', 'json'],
    ]) {
      const r = runCliAsNobody(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      JSON.parse(r.stdout);
    }
    assert.deepEqual(readdirSync(dir), before);
    // Writing there is refused in one line, not with a stack trace.
    const r = runCliAsNobody(['scan', a.root, '--db', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^regaudit: .*idx\.db: /);
  });
});
