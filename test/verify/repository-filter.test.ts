/**
 * verify --repository/--exclude select repositories with the matcher report uses (minimatch: `*`
 * stops at `/`, `**` crosses it), so one pattern means the same set in every command.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, runCliJson } from '../helpers/cli.js';
import { verifyJson } from '../helpers/verify.js';
import { StorageTree } from '../helpers/tree.js';
import type { VerifyJson } from '../helpers/json.js';

const REPOS = ['team1/app', 'team1/app/sidecar', 'team1/web', 'team2/db', 'solo'];

describe('verify selects repositories exactly as report does', () => {
  const tree = new StorageTree();
  after(() => tree.cleanup());
  // Each repository has a layer of its own, stored corrupt (same size, other bytes): the corrupt-blob
  // findings of a filtered verify name exactly the layers of the repositories it selected.
  const layerOf = new Map<string, string>();
  for (const repo of REPOS) {
    const content = `own layer of ${repo}`;
    const [layer] = tree.image(repo, 'v1', [content]).layers;
    tree.file(`blobs/sha256/${layer!.slice(7, 9)}/${layer!.slice(7)}/data`, content.replace('own', 'OWN'));
    layerOf.set(repo, layer!);
  }
  const dbFile = (name: string): string => path.join(tree.root, '..', `${path.basename(tree.root)}-${name}.db`);
  after(() => {
    for (const n of ['report', 'verify']) rmSync(dbFile(n), { force: true });
  });

  const cases: Array<{ args: string[]; expected: string[] }> = [
    { args: ['--repository', 'team1/*'], expected: ['team1/app', 'team1/web'] },
    { args: ['--repository', 'team1/**'], expected: ['team1/app', 'team1/app/sidecar', 'team1/web'] },
    { args: ['--repository', 'team1/**', '--exclude', 'team1/app/*'], expected: ['team1/app', 'team1/web'] },
    { args: ['--repository', '*'], expected: ['solo'] },
    { args: ['--exclude', 'team1/**,solo'], expected: ['team2/db'] },
    {
      args: ['--repository', 'team1/app/sidecar', '--repository', 'team2/*'],
      expected: ['team1/app/sidecar', 'team2/db'],
    },
  ];

  for (const c of cases) {
    it(`${c.args.join(' ')} selects ${c.expected.join(', ')}`, () => {
      const report = runCliJson<{ repositories: Array<{ name: string }> }>([
        'report',
        tree.root,
        '--db',
        dbFile('report'),
        '--format',
        'json',
        ...c.args,
      ]);
      assert.equal(report.code, 0, report.stderr);
      assert.deepEqual(
        report.json.repositories.map((r) => r.name),
        c.expected,
        'report',
      );

      const v = verifyJson<VerifyJson>(tree.root, dbFile('verify'), ...c.args);
      assert.equal(v.code, 0, v.stderr);
      const corrupt = v.json.findings
        .filter((f) => f.kind === 'corrupt-blob')
        .map((f) => f.digest)
        .sort();
      assert.deepEqual(corrupt, c.expected.map((r) => layerOf.get(r)!).sort(), 'verify');
      // manifest, config and layer of each selected repository (none shares a blob with another)
      assert.equal(v.json.totals.blobs, 3 * c.expected.length);
      assert.ok(v.json.scope.filter, 'the output says it was filtered');
    });
  }

  it('the table says the scope was filtered', () => {
    const r = runCli(['verify', tree.root, '--db', dbFile('verify'), '--repository', 'team1/*', '--exclude', 'x']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /filtered \(--repository team1\/\* --exclude x\)/);
  });
});
