/**
 * The bucket gc applier's guards, against a REAL S3 server (Ceph RGW), one key prefix per case:
 * the order of its DeleteObjects, a repository changed since the scan or one that appeared (nothing
 * deleted), a link written while the apply runs naming a doomed blob (the blob stays), a blob
 * rewritten since the scan (skipped), a blocked plan (refused). Where a case acts between requests
 * it wraps the real client: every call goes to the server; the wrapper only records DeleteObjects
 * and writes through the real client before delegating. The registry's own gc is in rgw-gc.test.ts.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { StorageError } from '../../src/errors.js';
import { applyGcToBucket } from '../../src/reclaim/bucket.js';
import { summarise, type GcItem, type GcPlan } from '../../src/reclaim/plan.js';
import type { ScannedRepository } from '../../src/reclaim/apply.js';
import { Bucket } from '../../src/storage/s3/client.js';
import { parseS3Url } from '../../src/storage/s3/location.js';
import { BucketReader, listRepository } from '../../src/storage/s3/read.js';
import { requireCephTools, startCeph, type Ceph } from '../helpers/ceph.js';

const ceph = requireCephTools();
const skip = ceph.skip || undefined;
const BUCKET = 'gcguards';
const hex = (c: string): string => c.repeat(64);
const link = (d: string): string => `sha256:${hex(d)}`;

/** The real client, wrapped: each DeleteObjects is recorded (v2-relative keys) after `beforeRemove` ran; all else passes through. */
interface Watched {
  bucket: Bucket;
  real: Bucket;
  deletes: string[][];
  beforeRemove?: (keys: readonly string[]) => Promise<void>;
  put(rel: string, body: string): Promise<void>;
  /** Every key under docker/registry/v2, relative to it, with its LastModified, as the server lists them. */
  listed(): Promise<Map<string, number>>;
}

function watch(real: Bucket): Watched {
  const v2 = real.location.v2Prefix;
  const w: Watched = {
    real,
    deletes: [],
    bucket: new Proxy(real, {
      get(target, prop) {
        if (prop === 'remove')
          return async (keys: readonly string[]): Promise<void> => {
            const hook = w.beforeRemove;
            w.beforeRemove = undefined;
            if (hook) await hook(keys);
            w.deletes.push(keys.map((k) => k.slice(v2.length)));
            return target.remove(keys);
          };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }),
    async put(rel, body) {
      await real.put(v2 + rel, body);
    },
    async listed() {
      return new Map((await real.listAll(v2)).map((o) => [o.key.slice(v2.length), o.lastModifiedMs]));
    },
  };
  return w;
}

const APP_KEYS: Array<[string, string]> = [
  [`repositories/app/_manifests/revisions/sha256/${hex('a')}/link`, link('a')],
  [`repositories/app/_manifests/tags/v1/current/link`, link('a')],
  [`repositories/app/_manifests/tags/v1/index/sha256/${hex('a')}/link`, link('a')],
  [`repositories/app/_layers/sha256/${hex('b')}/link`, link('b')],
  [`blobs/sha256/aa/${hex('a')}/data`, '{}'],
  [`blobs/sha256/bb/${hex('b')}/data`, 'layer b'],
  [`blobs/sha256/cc/${hex('c')}/data`, 'garbage c'],
];

function plan(items: GcItem[], blocked: GcPlan['blocked'] = []): GcPlan {
  return { deleteUntagged: false, blocked, items, kept: [], ...summarise(items) };
}

/** The plan a scan makes of APP_KEYS: layer link b, blobs b and c, each expecting the LastModified listed. */
function items(mtime: ReadonlyMap<string, number>): GcItem[] {
  const at = (rel: string): number => {
    const ms = mtime.get(rel);
    assert.ok(ms !== undefined && ms > 0, `${rel} was put`);
    return ms;
  };
  const blob = (d: string, size: number): GcItem => ({
    kind: 'blob',
    path: `blobs/sha256/${d}${d}/${hex(d)}`,
    digest: link(d),
    bytes: size,
    reason: 'unreferenced',
    expect: { mtimeMs: at(`blobs/sha256/${d}${d}/${hex(d)}/data`), size },
  });
  return [
    {
      kind: 'layer-link',
      path: `repositories/app/_layers/sha256/${hex('b')}`,
      repository: 'app',
      digest: link('b'),
      bytes: 0,
      reason: 'unreferenced-link',
      expect: { mtimeMs: at(`repositories/app/_layers/sha256/${hex('b')}/link`) },
    },
    blob('b', 7),
    blob('c', 9),
  ];
}

describe('gc apply on a bucket: guards (real RGW)', { skip, timeout: 300_000 }, () => {
  let rgw: Ceph | undefined;
  const opened: Bucket[] = [];

  before(async () => {
    rgw = await startCeph();
    await rgw.createBucket(BUCKET);
  });
  after(async () => {
    for (const b of opened) b.close();
    await rgw?.stop();
  });

  /** A fresh prefix of the bucket holding APP_KEYS, the scan's view of it and its plan. */
  async function storage(prefix: string): Promise<{ w: Watched; scanned: ScannedRepository[]; items: GcItem[] }> {
    const real = await Bucket.open(parseS3Url(`s3://${BUCKET}/${prefix}`), {
      endpoint: rgw!.endpoint,
      credentials: { accessKeyId: rgw!.accessKey, secretAccessKey: rgw!.secretKey },
      requests: 4,
    });
    opened.push(real);
    const w = watch(real);
    for (const [rel, body] of APP_KEYS) await w.put(rel, body);
    const s = await new BucketReader(real).snapshot(await listRepository(real, 'app'));
    assert.equal(s.problem, null);
    return {
      w,
      scanned: [{ name: 'app', entries: s.entries, newestMtimeMs: s.newestMtimeMs }],
      items: items(await w.listed()),
    };
  }

  it('deletes exactly the plan, links before blobs, one DeleteObjects per kind', async () => {
    const { w, scanned, items } = await storage('order');
    const r = await applyGcToBucket(w.bucket, plan(items), { scanned });
    assert.deepEqual(
      r.items.map((i) => i.outcome),
      ['deleted', 'deleted', 'deleted'],
    );
    assert.equal(r.bytesFreed, 16);
    assert.deepEqual(w.deletes, [
      [`repositories/app/_layers/sha256/${hex('b')}/link`],
      [`blobs/sha256/bb/${hex('b')}/data`, `blobs/sha256/cc/${hex('c')}/data`],
    ]);
    assert.deepEqual(
      [...(await w.listed()).keys()].sort(),
      APP_KEYS.map(([k]) => k)
        .filter((k) => !w.deletes.flat().includes(k))
        .sort(),
      'the server holds the rest, the manifest blob among them',
    );
    assert.ok((await w.listed()).has(`blobs/sha256/aa/${hex('a')}/data`), 'the manifest blob stays');
  });

  it('a repository changed since the scan stops the run; nothing deleted', async () => {
    const { w, scanned, items } = await storage('changed');
    const all = [...(await w.listed()).keys()].sort();
    await w.put(`repositories/app/_layers/sha256/${hex('d')}/link`, link('d'));
    await assert.rejects(
      applyGcToBucket(w.bucket, plan(items), { scanned }),
      (e: Error) => e instanceof StorageError && /changed since the scan \(repository app changed/.test(e.message),
    );
    await w.put(`repositories/new/_layers/sha256/${hex('d')}/link`, link('d'));
    await w.real.remove([w.real.key(`repositories/app/_layers/sha256/${hex('d')}/link`)]);
    await assert.rejects(applyGcToBucket(w.bucket, plan(items), { scanned }), /repository new appeared/);
    assert.deepEqual(w.deletes, []);
    assert.deepEqual(
      [...(await w.listed()).keys()].sort(),
      [...all, `repositories/new/_layers/sha256/${hex('d')}/link`].sort(),
      'every key is still on the server',
    );
  });

  it('a link written while the apply runs, naming a doomed blob, keeps that blob', async () => {
    const { w, scanned, items } = await storage('midapply');
    // A push links blob c into another repository right after the layer links went (before their DeleteObjects lands).
    w.beforeRemove = () => w.put(`repositories/other/_layers/sha256/${hex('c')}/link`, link('c'));
    const r = await applyGcToBucket(w.bucket, plan(items), { scanned });
    assert.deepEqual(
      r.items.map((i) => [i.outcome, i.detail]),
      [
        ['deleted', undefined],
        ['deleted', undefined],
        ['skipped', 'a repository links it now'],
      ],
    );
    assert.deepEqual(w.deletes, [
      [`repositories/app/_layers/sha256/${hex('b')}/link`],
      [`blobs/sha256/bb/${hex('b')}/data`],
    ]);
    assert.ok((await w.listed()).has(`blobs/sha256/cc/${hex('c')}/data`), 'blob c is still on the server');
    assert.equal(r.bytesFreed, 7);
  });

  it('a blob rewritten since the scan is skipped; a plan with unreadable parts is refused', async () => {
    const { w, scanned, items } = await storage('rewritten');
    const rel = `blobs/sha256/cc/${hex('c')}/data`;
    const was = (await w.listed()).get(rel)!;
    // LastModified may have whole-second resolution: rewrite once a second has passed.
    await sleep(1100);
    await w.put(rel, 'garbage c');
    assert.notEqual((await w.listed()).get(rel), was, 'the server gave the rewrite a new LastModified');
    const r = await applyGcToBucket(w.bucket, plan(items), { scanned });
    assert.match(r.items[2]!.detail ?? '', /modified since the scan/);
    assert.ok((await w.listed()).has(rel), 'the rewritten blob is still on the server');

    const blocked = await storage('blocked');
    const before = [...(await blocked.w.listed()).keys()].sort();
    await assert.rejects(
      applyGcToBucket(blocked.w.bucket, plan(blocked.items, [{ where: 'mirror', why: 'access denied' }]), {
        scanned: blocked.scanned,
      }),
      /refusing to collect: part of the storage could not be read \(mirror: access denied\)/,
    );
    assert.deepEqual(blocked.w.deletes, []);
    assert.deepEqual([...(await blocked.w.listed()).keys()].sort(), before);
  });
});
