import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aheadKey, midKey, splitPoint } from '../../src/storage/s3/read.js';
import { repositoryKey } from '../../src/layout/object-keys.js';
import { parseS3Url } from '../../src/storage/s3/location.js';
import { defaultIndexFile } from '../../src/index/location.js';

describe('object storage: listing ranges', () => {
  it('midKey lies strictly between its bounds', () => {
    const pairs: Array<[string, string | undefined]> = [
      ['blobs/sha256/1f/1fab', 'blobs/sha256/80'],
      ['blobs/sha256/7f/7fff', 'blobs/sha256/80'],
      ['a', 'b'],
      ['a', 'a0'],
      ['abc', undefined],
      ['repositories/t', 'repositories/u'],
    ];
    for (const [l, u] of pairs) {
      const m = midKey(l, u);
      assert.ok(m !== undefined, `${l} ${u}`);
      assert.ok(m > l && (u === undefined || m < u), `${l} < ${m} < ${u}`);
    }
    assert.equal(midKey('a', 'a'), undefined);
    assert.equal(midKey('b', 'a'), undefined);
  });

  it('a split under repositories/ never separates the keys of one repository', () => {
    const keys = [
      'repositories/team1/svc/_layers/sha256/aa/link',
      'repositories/team1/svc/_manifests/revisions/sha256/bb/link',
      'repositories/team1/svc/x/_layers/sha256/cc/link',
      'repositories/team1/svc-2/_layers/sha256/dd/link',
      'repositories/team2/_uploads/u1/data',
      'repositories/team2/_uploads/u1/startedat',
      'repositories/zeta/_layers/sha256/ee/link',
    ].sort();
    for (const last of keys) {
      for (const [upper, first] of [
        [undefined, undefined],
        ['repositories/zz', undefined],
        [undefined, keys[0]],
        ['repositories/zz', keys[0]],
      ] as const) {
        const cut = splitPoint(last, upper, first);
        if (cut === undefined) continue;
        assert.ok(cut > last);
        const side = new Map<string, boolean>();
        for (const k of keys) {
          const r = repositoryKey(k);
          if (r?.kind !== 'part') continue;
          const below: boolean = k <= cut;
          assert.equal(side.get(r.repo) ?? below, below, `${r.repo} split at ${cut}`);
          side.set(r.repo, below);
        }
      }
    }
  });

  it('a cut judged by the page width lies past the page, a few pages on, and never past the range', () => {
    // A page of blobs that covered fan-out 00..0a: the cut lands a few fan-out values further.
    const cut = aheadKey('blobs/sha256/00/00aa/data', 'blobs/sha256/0a/0abb/data')!;
    assert.ok(cut > 'blobs/sha256/0a/0abb/data' && cut < 'blobs/sha256/80', cut);
    // Names bunched under one prefix: the cut stays near them instead of halving the alphabet.
    const names = aheadKey('repositories/team1/a/_layers/x', 'repositories/team2/b/_layers/y')!;
    assert.ok(names > 'repositories/team2/b/_layers/y' && names < 'repositories/teamz', names);
    // The rest of the range is shorter than the look-ahead: no cut at all.
    assert.equal(splitPoint('blobs/sha256/7a/7a00/data', 'blobs/sha256/80', 'blobs/sha256/70/7000/data'), undefined);
    // Keys outside the name alphabet: halfway, as without a first key.
    assert.equal(aheadKey('repositories/A', 'repositories/B'), undefined);
    assert.equal(
      splitPoint('repositories/B/_x', undefined, 'repositories/A/_x'),
      splitPoint('repositories/B/_x', undefined),
    );
  });

  it('s3:// URLs: bucket, rootdirectory, and the v2 prefix', () => {
    assert.deepEqual(parseS3Url('s3://my-bucket/a/b/'), {
      bucket: 'my-bucket',
      rootDirectory: 'a/b',
      v2Prefix: 'a/b/docker/registry/v2/',
      v2Url: 's3://my-bucket/a/b/docker/registry/v2',
    });
    assert.equal(parseS3Url('s3://my-bucket').v2Prefix, 'docker/registry/v2/');
    assert.equal(parseS3Url('s3://my-bucket/r/docker/registry/v2').rootDirectory, 'r');
    assert.throws(() => parseS3Url('s3://My_Bucket/x'), /not a valid bucket name/);
    assert.throws(() => parseS3Url('s3://bucket/a/../b'), /may not hold/);
  });

  it('the default index of a bucket does not depend on the working directory', () => {
    const here = process.cwd();
    const v2 = 's3://my-bucket/a/b/docker/registry/v2';
    const first = defaultIndexFile(v2, { HOME: '/home/u' });
    process.chdir('/tmp');
    try {
      assert.equal(defaultIndexFile(v2, { HOME: '/home/u' }), first);
    } finally {
      process.chdir(here);
    }
    assert.match(first, /^\/home\/u\/\.cache\/regaudit\/s3_my-bucket_a_b-[0-9a-f]{12}\.db$/);
  });
});
