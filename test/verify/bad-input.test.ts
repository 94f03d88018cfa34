/**
 * verify and diff on bad input: one-line errors with exit 2 for what cannot be compared or read, and
 * findings (never crashes) for blobs that are odd on disk or move under the hasher. Nothing is written
 * outside the index.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import { cliPath, runCli, runCliJson } from '../helpers/cli.js';
import { spawn } from 'node:child_process';
import { verifyJson } from '../helpers/verify.js';
import { StorageTree, sha256 } from '../helpers/tree.js';
import { hashFile } from '../../src/verify/hash-worker.js';
import { APPLICATION_ID } from '../../src/index/migrations/index.js';

interface Finding {
  kind: string;
  digest?: string;
  path?: string;
  message: string;
}

const work = mkdtempSync(path.join(tmpdir(), 'regaudit-verify-bad-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Every path under `dir` with its type, size and mtime: what a read-only run must leave as it was. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = lstatSync(p);
      out.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function oneLineError(r: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^regaudit: /);
  assert.match(r.stderr, pattern);
}

describe('diff: bad input is one line and exit 2', () => {
  const tree = new StorageTree(path.join(work, 'good'));
  tree.manifest('app', 'v1', { schemaVersion: 2, layers: [] });

  it('A is not registry storage', () => {
    const empty = path.join(work, 'empty');
    mkdirSync(empty, { recursive: true });
    oneLineError(runCli(['diff', empty, tree.root, '--db', path.join(work, 'x.db')]), /not registry storage/);
  });

  it('B is neither storage nor an index', () => {
    const text = path.join(work, 'notes.txt');
    writeFileSync(text, 'hello');
    oneLineError(
      runCli(['diff', tree.root, text, '--db', path.join(work, 'y.db')]),
      /neither registry storage .* nor a regaudit index/,
    );
  });

  it('B does not exist', () => {
    oneLineError(runCli(['diff', tree.root, path.join(work, 'nope'), '--db', path.join(work, 'y.db')]), /no such file/);
  });

  it('an index from a newer regaudit', () => {
    const newer = path.join(work, 'newer.db');
    const db = new Database(newer);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma('user_version = 999');
    db.close();
    oneLineError(runCli(['diff', newer, tree.root, '--db', path.join(work, 'z.db')]), /newer regaudit/);
  });

  it('A and B the same path, or the same storage spelled twice', () => {
    oneLineError(runCli(['diff', tree.root, tree.root, '--db', path.join(work, 's.db')]), /same path/);
    oneLineError(runCli(['diff', tree.root, tree.v2, '--db', path.join(work, 's.db')]), /same storage/);
  });

  it('an index side that is also --db, where the other side would be scanned', () => {
    const idx = path.join(work, 'idx.db');
    assert.equal(runCli(['scan', tree.root, '--db', idx]).code, 0);
    oneLineError(runCli(['diff', idx, tree.root, '--db', idx]), /also --db/);
  });

  it('nothing is written outside the index', () => {
    const before = snapshot(tree.root);
    const r = runCliJson([
      'diff',
      tree.root,
      path.join(work, 'idx.db'),
      '--db',
      path.join(work, 'w.db'),
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(snapshot(tree.root), before);
  });
});

describe('verify: odd blobs are findings, never crashes', () => {
  const tree = new StorageTree(path.join(work, 'odd'));
  const empty = tree.blob(''); // the real empty blob: 0 bytes that hash right
  const zeroed = tree.blob('was not empty');
  tree.file(`blobs/sha256/${zeroed.slice(7, 9)}/${zeroed.slice(7)}/data`, ''); // a 0-byte copy of a non-empty blob
  const asDir = sha256('a directory where data should be');
  tree.dir(`blobs/sha256/${asDir.slice(7, 9)}/${asDir.slice(7)}/data`);
  // A symlink to a file that DOES hash to the digest: followed, it would pass.
  const linked = sha256('reached through a symlink');
  const target = path.join(work, 'outside-target');
  writeFileSync(target, 'reached through a symlink');
  mkdirSync(path.join(tree.v2, `blobs/sha256/${linked.slice(7, 9)}/${linked.slice(7)}`), { recursive: true });
  symlinkSync(target, path.join(tree.v2, `blobs/sha256/${linked.slice(7, 9)}/${linked.slice(7)}/data`));
  const manifest = tree.manifest('app', 'v1', {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 0, digest: empty },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', size: 0, digest: zeroed },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', size: 1, digest: asDir },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar', size: 25, digest: linked },
    ],
  });
  for (const d of [empty, zeroed, asDir, linked]) tree.layerLink('app', d);

  it('reports the 0-byte copy as corrupt, the directory and the symlink as unreadable, and never follows the link', () => {
    const db = path.join(work, 'odd.db');
    const before = snapshot(tree.root);
    const r = verifyJson<{ findings: Finding[] }>(tree.root, db, '--fail-on', 'error');
    assert.equal(r.code, 1, r.stderr);
    const got = r.json.findings.map((f) => [f.kind, f.digest]).sort();
    assert.deepEqual(
      got,
      [
        ['corrupt-blob', zeroed],
        ['unreadable-blob', asDir],
        ['unreadable-blob', linked],
      ].sort(),
    );
    assert.match(r.json.findings.find((f) => f.digest === linked)!.message, /symbolic link \(not followed\)/);
    assert.match(r.json.findings.find((f) => f.digest === asDir)!.message, /not a regular file/);
    assert.match(r.json.findings.find((f) => f.digest === zeroed)!.message, /app:v1/);
    assert.deepEqual(snapshot(tree.root), before);
    assert.ok(manifest.startsWith('sha256:'));
  });

  it('bad options are one line and exit 2', () => {
    const db = path.join(work, 'odd.db');
    oneLineError(runCli(['verify', tree.root, '--db', db, '--sample', '0']), /--sample "0"/);
    oneLineError(runCli(['verify', tree.root, '--db', db, '--sample', '150']), /--sample "150"/);
    oneLineError(runCli(['verify', tree.root, '--db', db, '--older-than', 'soon']), /--older-than "soon"/);
    oneLineError(runCli(['verify', tree.root, '--db', db, '--threads', '0']), /--threads "0"/);
    oneLineError(runCli(['verify', path.join(work, 'missing'), '--db', db]), /no such file/);
  });
});

describe('hashing a blob that moves under the hasher', () => {
  const file = path.join(work, 'moving');
  const content = Buffer.alloc(3 << 20, 7);
  const job = () => ({
    id: 1,
    path: file,
    alg: 'sha256',
    hex: sha256(content).slice(7),
    size: content.length,
    mtimeMs: 0,
  });

  it('a blob that grows while being hashed is reported as changed', () => {
    writeFileSync(file, content);
    const r = hashFile(job(), () => appendFileSync(file, 'more'));
    assert.deepEqual([r.status, r.detail], ['unreadable', 'changed while being hashed']);
  });

  it('a blob removed while being hashed is reported as vanished', () => {
    writeFileSync(file, content);
    let once = false;
    const r = hashFile(job(), () => {
      if (!once) unlinkSync(file);
      once = true;
    });
    assert.deepEqual([r.status, r.detail], ['unreadable', 'vanished while being hashed']);
  });

  it('a blob gone before it is opened', () => {
    const r = hashFile(job(), () => {});
    assert.deepEqual([r.status, r.detail], ['unreadable', 'vanished since the scan']);
  });

  it('an intact blob is ok, a flipped byte is corrupt', () => {
    writeFileSync(file, content);
    assert.equal(hashFile(job(), () => {}).status, 'ok');
    const bad = Buffer.from(content);
    bad[12345]! ^= 1;
    writeFileSync(file, bad);
    const r = hashFile(job(), () => {});
    assert.deepEqual([r.status, r.detail], ['corrupt', sha256(bad)]);
  });
});

describe('Ctrl-C during verify keeps what was verified', () => {
  it('exits 130; the blobs hashed before are kept and not hashed again', async () => {
    const tree = new StorageTree(path.join(work, 'interrupt'));
    for (let i = 0; i < 20; i++) tree.blob(`small blob ${i}`);
    // A long hash (a sparse 16 GiB file; its digest does not matter) keeps verify busy.
    const huge = path.join(tree.v2, `blobs/sha256/ff/${'f'.repeat(64)}/data`);
    mkdirSync(path.dirname(huge), { recursive: true });
    writeFileSync(huge, '');
    truncateSync(huge, 16 * 2 ** 30);
    const db = path.join(work, 'interrupt.db');
    const child = spawn(process.execPath, [cliPath, 'verify', tree.root, '--db', db, '--threads', '2', '-q'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      let kept = 0;
      while (Date.now() < deadline && kept < 20) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const d = new Database(db, { readonly: true });
          try {
            kept = d.prepare(`SELECT count(*) FROM blob_verifications`).pluck().get() as number;
          } finally {
            d.close();
          }
        } catch {
          // not created yet
        }
      }
      assert.equal(kept, 20, 'the small blobs are committed while the long hash runs');
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.match(stderr, /interrupted by SIGINT/);
    } finally {
      child.kill('SIGKILL');
    }
    rmSync(path.dirname(huge), { recursive: true });
    const rerun = verifyJson<{ totals: { blobs: number; hashed: number; ok: number } }>(tree.root, db);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(rerun.json.totals.blobs, 20);
    assert.equal(rerun.json.totals.hashed, 0, 'nothing verified before the interrupt is hashed again');
    assert.equal(rerun.json.totals.ok, 20);
  });
});
