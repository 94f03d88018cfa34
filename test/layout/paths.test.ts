import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  REPOSITORY_PARTS,
  inRepository,
  parsePath,
  pathFor,
  repoPathFor,
  repositoryPath,
  type PathSpec,
  type RepoPathSpec,
} from '../../src/layout/paths.js';
import { digestOf, parseDigest, type Digest } from '../../src/layout/digest.js';
import { isValidTag, repositoryNameProblem } from '../../src/layout/repository-name.js';

const H = 'a'.repeat(64);
const D = `sha256:${H}` as Digest;

test('pathFor and parsePath are inverse for every spec', () => {
  const specs: Array<[PathSpec, string]> = [
    [{ kind: 'blobData', digest: D }, `blobs/sha256/aa/${H}/data`],
    [{ kind: 'repository', repo: 'org/app' }, 'repositories/org/app'],
    [{ kind: 'repositoryPart', repo: 'org/app', part: '_layers' }, 'repositories/org/app/_layers'],
    [{ kind: 'layerLink', repo: 'a.b/c_d', digest: D }, `repositories/a.b/c_d/_layers/sha256/${H}/link`],
    [{ kind: 'revisionLink', repo: 'x', digest: D }, `repositories/x/_manifests/revisions/sha256/${H}/link`],
    [{ kind: 'tagsDir', repo: 'x' }, 'repositories/x/_manifests/tags'],
    [{ kind: 'tagCurrentLink', repo: 'x/y', tag: 'v1.0' }, 'repositories/x/y/_manifests/tags/v1.0/current/link'],
    [
      { kind: 'tagIndexLink', repo: 'x', tag: 'latest', digest: D },
      `repositories/x/_manifests/tags/latest/index/sha256/${H}/link`,
    ],
    [{ kind: 'upload', repo: 'x', id: 'u1' }, 'repositories/x/_uploads/u1'],
    [{ kind: 'uploadStartedAt', repo: 'x', id: 'u1' }, 'repositories/x/_uploads/u1/startedat'],
    [{ kind: 'uploadData', repo: 'x', id: 'u1' }, 'repositories/x/_uploads/u1/data'],
  ];
  for (const [spec, rel] of specs) {
    assert.equal(pathFor(spec), rel);
    assert.deepEqual(parsePath(rel), spec, rel);
  }
});

test('parsePath turns unexpected paths into reasons, never exceptions', () => {
  const bad = [
    `blobs/sha256/ab/${H}/data`, // fan-out does not match
    `blobs/sha256/aa/${H}/data.1234.tmp`,
    `blobs/md5/aa/${H}/data`,
    'repositories',
    'repositories/_layers/sha256/x/link',
    `repositories/x/_layers/sha256/${H.toUpperCase()}/link`,
    `repositories/x/_layers/sha256/${H}/link.abc.tmp`,
    'repositories/x/_referrers/foo',
    'repositories/x/_manifests/tags/v1/current/link2',
    'repositories/x/../y/_layers',
    'other/file',
  ];
  for (const rel of bad) assert.equal(parsePath(rel).kind, 'unrecognized', rel);
});

test('digests are parsed exactly as the registry does: no trimming', () => {
  assert.equal(parseDigest(D), D);
  assert.equal(parseDigest(`${D}\n`), null);
  assert.equal(parseDigest(` ${D}`), null);
  assert.equal(parseDigest(''), null);
  assert.equal(parseDigest(`sha256:${H.slice(1)}`), null);
  assert.equal(parseDigest(`SHA256:${H}`), null);
  assert.equal(parseDigest(`sha512:${'b'.repeat(128)}`), `sha512:${'b'.repeat(128)}`);
  assert.equal(digestOf('sha384', 'c'.repeat(96)), `sha384:${'c'.repeat(96)}`);
  assert.equal(digestOf('sha256', 'g'.repeat(64)), null);
});

test('repository names follow the reference grammar', () => {
  for (const ok of [
    'a',
    'org/app',
    'a.b/c_d/e__f/g-h',
    'a--b',
    'localhost:5000/x',
    'Registry.Example.com/app',
    '0/1/2',
  ]) {
    assert.equal(repositoryNameProblem(ok), null, ok);
  }
  for (const bad of ['', 'A', 'a_', '_a', 'a/.b', 'a___b', 'a b', 'café', 'x'.repeat(256), 'UPPER/app', 'a//b']) {
    assert.notEqual(repositoryNameProblem(bad), null, bad);
  }
  assert.equal(repositoryNameProblem('x'.repeat(255)), null);
  assert.ok(isValidTag('_v1.0-rc'));
  assert.ok(!isValidTag('.v1'));
  assert.ok(!isValidTag('x'.repeat(129)));
});

test('repository-relative specs, and the names regaudit writes, agree with the storage paths', () => {
  const inRepo: Array<[RepoPathSpec, string]> = [
    [{ kind: 'part', part: '_uploads' }, '_uploads'],
    [{ kind: 'layersDir', alg: 'sha256' }, '_layers/sha256'],
    [{ kind: 'revisionsDir' }, '_manifests/revisions'],
    [{ kind: 'tagDir', tag: 'v1' }, '_manifests/tags/v1'],
    [{ kind: 'tagCurrentDir', tag: 'v1' }, '_manifests/tags/v1/current'],
    [{ kind: 'tagIndexDir', tag: 'v1', alg: 'sha256' }, '_manifests/tags/v1/index/sha256'],
    [{ kind: 'trash' }, '_regaudit_trash'],
    [{ kind: 'trashPart', part: '_manifests' }, '_regaudit_trash/_manifests'],
    [{ kind: 'restoring', part: '_layers' }, '_regaudit_restoring_layers'],
  ];
  for (const [spec, rel] of inRepo) {
    assert.equal(repoPathFor(spec), rel);
    assert.equal(inRepository('org/app', spec), `repositories/org/app/${rel}`);
  }
  // Every storage spec of a repository is the repository path plus its repository-relative spec.
  assert.equal(
    pathFor({ kind: 'layerLink', repo: 'x', digest: D }),
    inRepository('x', { kind: 'layerLink', digest: D }),
  );
  assert.equal(pathFor({ kind: 'trash', repo: 'x/y' }), 'repositories/x/y/_regaudit_trash');
  assert.equal(pathFor({ kind: 'blobFan', alg: 'sha256', fan: 'aa' }), 'blobs/sha256/aa');
  assert.equal(pathFor({ kind: 'pruneLock' }), '.regaudit-prune.lock');
  assert.equal(repositoryPath(''), 'repositories');
  // Removal order: the 3.x catalog marker first, then the 2.x one, then uploads.
  assert.deepEqual([...REPOSITORY_PARTS], ['_manifests', '_layers', '_uploads']);
  // Both catalog walkers and GC skip `_` entries; a lock beside blobs/ is outside both.
  for (const spec of [{ kind: 'trash' }, { kind: 'restoring', part: '_layers' }] as RepoPathSpec[])
    assert.ok(repoPathFor(spec).startsWith('_'));
});
