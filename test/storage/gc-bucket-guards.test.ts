/**
 * The bucket gc applier's guards, on an in-memory bucket (the same requests a real one answers):
 * the order of its DeleteObjects, a repository changed since the scan (nothing deleted), a link
 * written while the apply runs naming a doomed blob (the blob stays), a blocked plan (refused).
 * The real server and registry are in test/s3/rgw-gc.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { StorageError } from '../../src/errors.js';
import { applyGcToBucket } from '../../src/reclaim/bucket.js';
import { summarise, type GcItem, type GcPlan } from '../../src/reclaim/plan.js';
import type { ScannedRepository } from '../../src/reclaim/apply.js';
import type { Bucket, ListedObject } from '../../src/storage/s3/client.js';
import { BucketReader, listRepository } from '../../src/storage/s3/read.js';

const V2 = 'docker/registry/v2/';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const hex = (c: string): string => c.repeat(64);
const T = 1_700_000_000_000;

/** Keys in memory, answering the few calls the applier makes; each DeleteObjects is recorded. */
class MemoryBucket {
  readonly location = { bucket: 'mem', rootDirectory: '', v2Prefix: V2, v2Url: 's3://mem/docker/registry/v2' };
  readonly requests = 4;
  readonly objects = new Map<string, { body: string; lastModifiedMs: number }>();
  readonly deletes: string[][] = [];
  beforeRemove?: (keys: readonly string[]) => void;

  put(rel: string, body: string, lastModifiedMs = T): void {
    this.objects.set(V2 + rel, { body, lastModifiedMs });
  }
  key(rel: string): string {
    return V2 + rel;
  }
  private listed(key: string): ListedObject {
    const o = this.objects.get(key)!;
    return { key, size: Buffer.byteLength(o.body), lastModifiedMs: o.lastModifiedMs, etag: md5(o.body) };
  }
  listAll(prefix: string): Promise<ListedObject[]> {
    return Promise.resolve(
      [...this.objects.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .map((k) => this.listed(k)),
    );
  }
  listDirs(prefix: string): Promise<string[]> {
    const dirs = new Set<string>();
    for (const k of this.objects.keys())
      if (k.startsWith(prefix) && k.indexOf('/', prefix.length) !== -1)
        dirs.add(k.slice(0, k.indexOf('/', prefix.length) + 1));
    return Promise.resolve([...dirs].sort());
  }
  get(key: string, max: number) {
    const o = this.objects.get(key);
    if (!o) return Promise.resolve({ found: false as const, why: 'no such key' as const });
    const bytes = Buffer.from(o.body);
    return Promise.resolve({
      found: true as const,
      bytes: bytes.subarray(0, max),
      size: bytes.length,
      lastModifiedMs: o.lastModifiedMs,
      truncated: bytes.length > max,
    });
  }
  remove(keys: readonly string[]): Promise<void> {
    this.beforeRemove?.(keys);
    this.deletes.push(keys.map((k) => k.slice(V2.length)));
    for (const k of keys) this.objects.delete(k);
    return Promise.resolve();
  }
}

/** app: tag v1 → revision A; a layer link to B no manifest references; blob C unreferenced. */
function storage(): MemoryBucket {
  const b = new MemoryBucket();
  const link = (d: string): string => `sha256:${hex(d)}`;
  b.put(`repositories/app/_manifests/revisions/sha256/${hex('a')}/link`, link('a'));
  b.put(`repositories/app/_manifests/tags/v1/current/link`, link('a'));
  b.put(`repositories/app/_manifests/tags/v1/index/sha256/${hex('a')}/link`, link('a'));
  b.put(`repositories/app/_layers/sha256/${hex('b')}/link`, link('b'));
  b.put(`blobs/sha256/aa/${hex('a')}/data`, '{}');
  b.put(`blobs/sha256/bb/${hex('b')}/data`, 'layer b');
  b.put(`blobs/sha256/cc/${hex('c')}/data`, 'garbage c');
  return b;
}

function plan(items: GcItem[], blocked: GcPlan['blocked'] = []): GcPlan {
  return { deleteUntagged: false, blocked, items, kept: [], ...summarise(items) };
}

const ITEMS: GcItem[] = [
  {
    kind: 'layer-link',
    path: `repositories/app/_layers/sha256/${hex('b')}`,
    repository: 'app',
    digest: `sha256:${hex('b')}`,
    bytes: 0,
    reason: 'unreferenced-link',
    expect: { mtimeMs: T },
  },
  {
    kind: 'blob',
    path: `blobs/sha256/bb/${hex('b')}`,
    digest: `sha256:${hex('b')}`,
    bytes: 7,
    reason: 'unreferenced',
    expect: { mtimeMs: T, size: 7 },
  },
  {
    kind: 'blob',
    path: `blobs/sha256/cc/${hex('c')}`,
    digest: `sha256:${hex('c')}`,
    bytes: 9,
    reason: 'unreferenced',
    expect: { mtimeMs: T, size: 9 },
  },
];

async function scannedOf(b: MemoryBucket): Promise<ScannedRepository[]> {
  const bucket = b as unknown as Bucket;
  const s = await new BucketReader(bucket).snapshot(await listRepository(bucket, 'app'));
  return [{ name: 'app', entries: s.entries, newestMtimeMs: s.newestMtimeMs }];
}

describe('gc apply on a bucket: guards', () => {
  it('deletes exactly the plan, links before blobs, one DeleteObjects per kind', async () => {
    const b = storage();
    const scanned = await scannedOf(b);
    const r = await applyGcToBucket(b as unknown as Bucket, plan(ITEMS), { scanned });
    assert.deepEqual(
      r.items.map((i) => i.outcome),
      ['deleted', 'deleted', 'deleted'],
    );
    assert.equal(r.bytesFreed, 16);
    assert.deepEqual(b.deletes, [
      [`repositories/app/_layers/sha256/${hex('b')}/link`],
      [`blobs/sha256/bb/${hex('b')}/data`, `blobs/sha256/cc/${hex('c')}/data`],
    ]);
    assert.ok(b.objects.has(`${V2}blobs/sha256/aa/${hex('a')}/data`), 'the manifest blob stays');
  });

  it('a repository changed since the scan stops the run; nothing deleted', async () => {
    const b = storage();
    const scanned = await scannedOf(b);
    b.put(`repositories/app/_layers/sha256/${hex('d')}/link`, `sha256:${hex('d')}`, T + 1000);
    await assert.rejects(
      applyGcToBucket(b as unknown as Bucket, plan(ITEMS), { scanned }),
      (e: Error) => e instanceof StorageError && /changed since the scan \(repository app changed/.test(e.message),
    );
    b.put(`repositories/new/_layers/sha256/${hex('d')}/link`, `sha256:${hex('d')}`);
    b.objects.delete(`${V2}repositories/app/_layers/sha256/${hex('d')}/link`);
    await assert.rejects(applyGcToBucket(b as unknown as Bucket, plan(ITEMS), { scanned }), /repository new appeared/);
    assert.deepEqual(b.deletes, []);
  });

  it('a link written while the apply runs, naming a doomed blob, keeps that blob', async () => {
    const b = storage();
    const scanned = await scannedOf(b);
    // A push links blob c into another repository right after the layer links went.
    b.beforeRemove = () => {
      b.beforeRemove = undefined;
      b.put(`repositories/other/_layers/sha256/${hex('c')}/link`, `sha256:${hex('c')}`);
    };
    const r = await applyGcToBucket(b as unknown as Bucket, plan(ITEMS), { scanned });
    assert.deepEqual(
      r.items.map((i) => [i.outcome, i.detail]),
      [
        ['deleted', undefined],
        ['deleted', undefined],
        ['skipped', 'a repository links it now'],
      ],
    );
    assert.ok(b.objects.has(`${V2}blobs/sha256/cc/${hex('c')}/data`));
    assert.equal(r.bytesFreed, 7);
  });

  it('a blob rewritten since the scan is skipped; a plan with unreadable parts is refused', async () => {
    const b = storage();
    const scanned = await scannedOf(b);
    b.put(`blobs/sha256/cc/${hex('c')}/data`, 'garbage c', T + 5000);
    const r = await applyGcToBucket(b as unknown as Bucket, plan(ITEMS), { scanned });
    assert.match(r.items[2]!.detail ?? '', /modified since the scan/);
    await assert.rejects(
      applyGcToBucket(b as unknown as Bucket, plan(ITEMS, [{ where: 'mirror', why: 'access denied' }]), { scanned }),
      /refusing to collect: part of the storage could not be read \(mirror: access denied\)/,
    );
  });
});
