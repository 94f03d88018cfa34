/**
 * Quarantine on object storage: `prune --apply --quarantine s3://BUCKET/PREFIX` copies each empty
 * repository's keys server-side (CopyObject) into a batch, `PREFIX/<batch>/repositories/<name>/...`,
 * verifies the copies (listed size, and the ETag where both are plain MD5s), and only then deletes the
 * originals. The batch's `journal.json` records the storage root and every key taken, before the first
 * copy. A killed run is resumed by the next one (the newest `running` batch of that root); `restore`
 * copies every key back and removes it from the batch, so a killed restore is finished by a rerun.
 */
import { hostname } from 'node:os';
import { StorageError } from '../../errors.js';
import { REPOSITORIES, repositoryPath } from '../../layout/paths.js';
import { TOOL_VERSION } from '../../version.js';
import { Bucket, type ListedObject } from './client.js';
import { parseS3Prefix, parseS3Url } from './location.js';

export interface BucketBatchJournal {
  tool: 'regaudit';
  toolVersion: string;
  kind: 's3-quarantine';
  /** `s3://bucket/<...>/docker/registry/v2` the keys came from. */
  root: string;
  createdAt: string;
  host: string;
  status: 'running' | 'complete' | 'failed' | 'restored';
  /** Keys taken, relative to docker/registry/v2 (repositories/<name>/<part>/...). */
  keys: string[];
}

const JOURNAL = 'journal.json';

/** A batch of a quarantine location: `s3://bucket/prefix<name>/`. */
export class BucketBatch {
  private constructor(
    readonly store: Bucket,
    /** Key prefix of the batch, ending in '/'. */
    readonly prefix: string,
    readonly journal: BucketBatchJournal,
    readonly resumed: boolean,
  ) {}

  get url(): string {
    return `s3://${this.store.location.bucket}/${this.prefix.slice(0, -1)}`;
  }

  /** The newest running batch of `root` under `quarantine`, or a new one. */
  static async open(quarantine: string, root: string, nowMs: number): Promise<BucketBatch> {
    const { bucket, prefix } = parseS3Prefix(quarantine);
    const store = await Bucket.open({ bucket, rootDirectory: '', v2Prefix: prefix, v2Url: quarantine });
    let best: { dir: string; journal: BucketBatchJournal } | undefined;
    for (const dir of await store.listDirs(prefix)) {
      const journal = await readJournal(store, dir);
      if (
        journal?.root === root &&
        journal.status === 'running' &&
        (!best || journal.createdAt > best.journal.createdAt)
      )
        best = { dir, journal };
    }
    if (best) return new BucketBatch(store, best.dir, best.journal, true);
    const name = `batch-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
    const journal: BucketBatchJournal = {
      tool: 'regaudit',
      toolVersion: TOOL_VERSION,
      kind: 's3-quarantine',
      root,
      createdAt: new Date(nowMs).toISOString(),
      host: hostname(),
      status: 'running',
      keys: [],
    };
    const batch = new BucketBatch(store, `${prefix}${name}/`, journal, false);
    await batch.save();
    return batch;
  }

  save(): Promise<boolean> {
    return this.store.put(`${this.prefix}${JOURNAL}`, `${JSON.stringify(this.journal, null, 2)}\n`);
  }

  /**
   * Copies `objects` (keys of `source`) into the batch and verifies the copies. The journal names
   * them before the first copy, so a restore knows every key this batch may hold.
   */
  async take(source: Bucket, objects: readonly ListedObject[]): Promise<void> {
    const rels = objects.map((o) => o.key.slice(source.location.v2Prefix.length));
    const known = new Set(this.journal.keys);
    if (rels.some((r) => !known.has(r))) {
      this.journal.keys = [...new Set([...this.journal.keys, ...rels])].sort();
      await this.save();
    }
    await Promise.all(
      objects.map((o, i) => this.store.copy(o.key, `${this.prefix}${rels[i]!}`, source.location.bucket)),
    );
    const repoPrefixes = [...new Set(rels.map((r) => r.slice(0, r.indexOf('/_') + 1)))];
    const copies = new Map<string, ListedObject>();
    for (const p of repoPrefixes)
      for (const c of await this.store.listAll(`${this.prefix}${p}`)) copies.set(c.key.slice(this.prefix.length), c);
    for (const [i, o] of objects.entries()) {
      const c = copies.get(rels[i]!);
      const md5 = (e: string) => /^[0-9a-f]{32}$/.test(e);
      if (!c || c.size !== o.size || (md5(c.etag) && md5(o.etag) && c.etag !== o.etag))
        throw new StorageError(
          `copy of s3://${source.location.bucket}/${o.key} into ${this.url} does not match the original; nothing was deleted (rerun to resume)`,
        );
    }
  }

  async finish(status: 'complete' | 'failed'): Promise<void> {
    this.journal.status = status;
    await this.save();
  }

  close(): void {
    this.store.close();
  }
}

async function readJournal(store: Bucket, dir: string): Promise<BucketBatchJournal | undefined> {
  try {
    const j = JSON.parse((await store.text(`${dir}${JOURNAL}`)) ?? 'null') as BucketBatchJournal | null;
    return j?.kind === 's3-quarantine' && typeof j.root === 'string' && Array.isArray(j.keys) ? j : undefined;
  } catch {
    return undefined;
  }
}

export interface BucketRestore {
  batch: string;
  root: string;
  repositories: Array<{ name: string; parts: string[] }>;
}

/**
 * Copies every key of a batch back to where it came from, then removes it from the batch. Refused
 * as a whole, before anything is copied, when the root holds a key of a batch repository's parts
 * that this batch did not take (pushed since), or a different object under a key it did take.
 */
export async function restoreBucketBatch(batchUrl: string, rootOverride?: string): Promise<BucketRestore> {
  const { bucket, prefix } = parseS3Prefix(batchUrl);
  const store = await Bucket.open({ bucket, rootDirectory: '', v2Prefix: prefix, v2Url: batchUrl });
  try {
    const journal = await readJournal(store, prefix);
    if (!journal) throw new StorageError(`${batchUrl}: no quarantine batch here (no readable ${JOURNAL})`);
    const root = parseS3Url(rootOverride ?? journal.root);
    const target = await Bucket.open(root);
    try {
      const held = await store.listAll(`${prefix}${REPOSITORIES}/`);
      const taken = new Set(journal.keys);
      const names = new Set(journal.keys.map((k) => k.slice(REPOSITORIES.length + 1, k.indexOf('/_'))));
      const inBatch = new Map(held.map((o) => [o.key.slice(prefix.length), o]));
      for (const name of names) {
        for (const o of await target.listAll(`${root.v2Prefix}${repositoryPath(name)}/_`)) {
          const rel = o.key.slice(root.v2Prefix.length);
          if (rel.slice(REPOSITORIES.length + 1, rel.indexOf('/_')) !== name) continue;
          const copy = inBatch.get(rel);
          if (!taken.has(rel) || (copy && (copy.size !== o.size || copy.etag !== o.etag)))
            throw new StorageError(
              `${repositoryPath(name)} holds ${rel} again (pushed since the quarantine?); nothing was restored`,
            );
        }
      }
      const parts = new Map<string, Set<string>>();
      for (const [rel, o] of inBatch) {
        await target.copy(o.key, `${root.v2Prefix}${rel}`, bucket);
        await store.remove([o.key]);
        const name = rel.slice(REPOSITORIES.length + 1, rel.indexOf('/_'));
        const part = rel.slice(rel.indexOf('/_') + 1).split('/')[0]!;
        if (!parts.has(name)) parts.set(name, new Set());
        parts.get(name)!.add(part);
      }
      journal.status = 'restored';
      await store.put(`${prefix}${JOURNAL}`, `${JSON.stringify(journal, null, 2)}\n`);
      return {
        batch: batchUrl,
        root: root.v2Url,
        repositories: [...names].sort().map((name) => ({ name, parts: [...(parts.get(name) ?? [])].sort() })),
      };
    } finally {
      target.close();
    }
  } finally {
    store.close();
  }
}

/** The storage root a batch's journal names. */
export async function bucketBatchRoot(batchUrl: string): Promise<string> {
  const { bucket, prefix } = parseS3Prefix(batchUrl);
  const store = await Bucket.open({ bucket, rootDirectory: '', v2Prefix: prefix, v2Url: batchUrl });
  try {
    const journal = await readJournal(store, prefix);
    if (!journal) throw new StorageError(`${batchUrl}: no quarantine batch here (no readable ${JOURNAL})`);
    return journal.root;
  } finally {
    store.close();
  }
}
