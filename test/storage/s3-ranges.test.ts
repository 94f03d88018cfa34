import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { BucketReader, aheadKey, midKey, splitPoint } from '../../src/storage/s3/read.js';
import type { Bucket, ListPage, ListedObject } from '../../src/storage/s3/client.js';
import type { ScanSink } from '../../src/index/records.js';
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
    // A look-ahead past the last fan-out (letters beyond f): no cut, where the range after it would
    // hold no blob and list the repositories only to drop them.
    const hex = (fan: string): string => `blobs/sha256/${fan}/${fan}${'a'.repeat(62)}/data`;
    assert.ok(aheadKey(hex('e0'), hex('ea'))! > 'blobs/sha256/ff/~');
    assert.equal(splitPoint(hex('ea'), 'repositories/', hex('e0')), undefined);
    assert.ok(splitPoint(hex('2a'), 'repositories/', hex('20'))! < 'blobs/sha256/80');
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

describe('object storage: the ranges list every key once, and no page only to drop it', () => {
  it('over an in-memory bucket of 30,000 blobs and 300 repositories', async () => {
    const v2Prefix = 'root/docker/registry/v2/';
    const hex = (i: number, salt: string): string => createHash('sha256').update(`${salt}${i}`).digest('hex');
    const keys: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      const h = hex(i, 'blob');
      keys.push(`${v2Prefix}blobs/sha256/${h.slice(0, 2)}/${h}/data`);
    }
    for (let i = 0; i < 300; i++)
      keys.push(`${v2Prefix}repositories/team${i % 17}/svc${i}/_layers/sha256/${hex(i, 'layer')}/link`);
    keys.sort();
    // A link's ETag is the MD5 of the digest its path names (a single-PUT object): nothing to read.
    const listed = (key: string): ListedObject => {
      const link = /sha256\/([0-9a-f]{64})\/link$/.exec(key);
      const digest = `sha256:${link?.[1]}`;
      return link
        ? { key, size: digest.length, lastModifiedMs: 0, etag: createHash('md5').update(digest).digest('hex') }
        : { key, size: 5, lastModifiedMs: 0, etag: 'x' };
    };
    // Each range's requests: where it started, and the keys of each page it was given.
    const chains: Array<{ after: string; pages: string[][] }> = [];
    const pageOf = (chain: number, start: number, prefix: string): ListPage => {
      const objects: ListedObject[] = [];
      let i = start;
      for (; i < keys.length && objects.length < 1000; i++)
        if (keys[i]!.startsWith(prefix)) objects.push(listed(keys[i]!));
        else if (objects.length > 0 || keys[i]! > prefix) break;
      chains[chain]!.pages.push(objects.map((o) => o.key));
      const more = i < keys.length && keys[i]!.startsWith(prefix);
      return { objects, ...(more ? { next: `${chain}:${i}` } : {}) };
    };
    const bucket = {
      location: { v2Prefix },
      requests: 32,
      key: (rel: string) => v2Prefix + rel,
      list: async (prefix: string, from: { startAfter?: string; token?: string } = {}): Promise<ListPage> => {
        await new Promise((r) => setImmediate(r));
        if (from.token !== undefined) {
          const [chain, at] = from.token.split(':').map(Number);
          return pageOf(chain!, at!, prefix);
        }
        chains.push({ after: from.startAfter ?? '', pages: [] });
        let i = 0;
        while (i < keys.length && (keys[i]! <= (from.startAfter ?? '') || !keys[i]!.startsWith(prefix))) i++;
        return pageOf(chains.length - 1, i, prefix);
      },
      get: () => Promise.reject(new Error('nothing to read here')),
    } as unknown as Bucket;
    let blobs = 0;
    const repos: string[] = [];
    const sink: ScanSink = {
      repository: (s) => repos.push(s.name),
      blob: () => blobs++,
      blobFan: () => undefined,
      manifest: () => undefined,
      debris: () => undefined,
    };
    const reader = new BucketReader(bucket, sink);
    await reader.read();
    assert.equal(blobs, 30_000);
    assert.equal(repos.length, 300);
    assert.equal(new Set(repos).size, 300);
    assert.equal(reader.stats.keys, keys.length);
    // The ranges split the key space: a range ends where the next one starts. Once a page ran past
    // that point, a page after it would be a LIST only to drop its keys.
    const starts = chains.map((c) => c.after).sort();
    let pages = 0;
    for (const c of chains) {
      const end = starts.find((x) => x > c.after);
      pages += c.pages.length;
      c.pages.slice(0, -1).forEach((p, i) => {
        const last = p.at(-1) ?? '';
        assert.ok(
          end === undefined || last <= end,
          `page ${i + 2} of the range after ${c.after} asked for past ${end}`,
        );
      });
    }
    assert.ok(pages <= Math.ceil(keys.length / 1000) + chains.length, `${pages} pages, ${chains.length} ranges`);
  });
});
