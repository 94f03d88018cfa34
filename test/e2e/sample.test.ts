/**
 * The bundled sample storage (fixtures/sample-storage.tar.gz, written by the real registry, see
 * fixtures/sample-storage.md): it must keep illustrating the seed problem, `npm run demo` must work on it,
 * and pruning it must leave a registry whose catalog lost exactly the pruned repos and whose tags all pull.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, runCliJson } from '../helpers/cli.js';
import { catalog, pulls, requireRegistryTools, tagsList } from '../helpers/registry.js';
import {
  assertOnlyPruned,
  cliText,
  deletes,
  planOf,
  prune,
  report,
  repoOf,
  snapshotTree,
  workspace,
} from './support.js';
import type { ReportJson, Workspace } from './support.js';

const archive = path.join(repoRoot, 'fixtures', 'sample-storage.tar.gz');
const tools = requireRegistryTools();

const LIVE: Record<string, string[]> = {
  'org/team/app': ['v1', 'v2'],
  'library/alpine': ['3.19'],
  'tools/builder': ['latest'],
  'a.b/c_d/e__f/g-h': ['1.0'],
  'platform/multi': ['latest'],
};

describe('bundled sample storage', { timeout: 60_000 }, () => {
  let ws: Workspace;
  let root = '';
  let db = '';

  before(() => {
    ws = workspace();
    ({ root, db } = ws);
    mkdirSync(root);
    const t = spawnSync('tar', ['-xzf', archive, '-C', root], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
  });

  after(() => ws?.dispose());

  it('report shows the seed case and the repositories that must survive', () => {
    const rep = report(root, db);
    for (const e of ['myimage', 'org/team']) {
      assert.equal(repoOf(rep, e).state, 'empty', e);
      assert.equal(repoOf(rep, e).listedByV2, true, e);
      assert.ok(
        rep.findings.some((f) => f.kind === 'empty-repository' && f.repository === e),
        e,
      );
    }
    assert.equal(repoOf(rep, 'myimage').layerLinks, 5);
    for (const n of Object.keys(LIVE)) assert.equal(repoOf(rep, n).state, 'active', n);
    assert.equal(repoOf(rep, 'incoming').listedByV3, false);
  });

  it('scan then report from the database alone gives the same answer', () => {
    const db2 = path.join(path.dirname(db), 'scan-only.db');
    cliText(['scan', root, '--db', db2]);
    const fromDb = runCliJson<ReportJson>(['report', '--db', db2, '--format', 'json']);
    assert.equal(fromDb.code, 0, fromDb.stderr);
    const a = fromDb.json;
    const b = report(root, db);
    assert.deepEqual(
      a.repositories.map((r) => [r.name, r.state]).sort(),
      b.repositories.map((r) => [r.name, r.state]).sort(),
    );
  });

  it('npm run demo (scripts/demo.mjs) prints a report and a dry-run plan', () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'demo.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /regaudit report/);
    assert.match(r.stdout, /regaudit prune/);
    assert.match(r.stdout, /myimage/);
    assert.match(r.stdout, /org\/team\/app/);
  });

  it(
    'prune --apply on the sample, then the real registry: catalog lost exactly the pruned repos, tags pull',
    { skip: tools.skip || undefined },
    async () => {
      const plan = prune(root, db, ['--min-age', '0s']);
      for (const e of ['myimage', 'org/team']) assert.equal(planOf(plan, e)?.action, 'delete', e);
      // (`incoming` / `uploads/pending` depend on the archive's age vs --min-age / --upload-age: see the .md;
      // test/e2e/in-flight.test.ts covers them on fresh storage)
      for (const n of Object.keys(LIVE)) assert.notEqual(planOf(plan, n)?.action, 'delete', n);

      let reg = await ws.restart();
      const catBefore = await catalog(reg);
      await ws.stop();

      const before = snapshotTree(root);
      const res = prune(root, db, ['--apply', '--min-age', '0s']);
      assert.deepEqual(deletes(res), deletes(plan), 'apply did what the dry run planned');
      assertOnlyPruned(before, snapshotTree(root), deletes(res));

      reg = await ws.restart();
      assert.deepEqual(
        await catalog(reg),
        catBefore.filter((x) => !deletes(res).includes(x)),
      );
      for (const [repo, tags] of Object.entries(LIVE)) {
        assert.deepEqual((await tagsList(reg, repo))?.sort(), [...tags].sort(), repo);
        for (const t of tags) assert.ok(await pulls(reg, repo, t), `${repo}:${t}`);
      }
      await ws.stop();
      assert.deepEqual(deletes(prune(root, db, ['--apply', '--min-age', '0s'])), []);
    },
  );
});
