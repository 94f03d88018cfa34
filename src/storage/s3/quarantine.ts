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
import { BLOBS, REPOSITORIES, repositoryPath } from '../../layout/paths.js';
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
  /** What took the keys; absent in batches written before gc could quarantine (prune). */
  command?: BatchCommand;
  /** Keys taken, relative to docker/registry/v2 (prune: repositories/<name>/<part>/...; gc also blobs/...). */
  keys: string[];
}

/**
 * prune takes whole repositories (restore refuses when the repository holds any key again); gc takes
 * single items out of live repositories and blobs (restore refuses only a taken key written again).
 */
export type BatchCommand = 'prune' | 'gc';

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

  /** The newest running batch of `root` by `command` under `quarantine`, or a new one. */
  static async open(
    quarantine: string,
    root: string,
    nowMs: number,
    command: BatchCommand = 'prune',
  ): Promise<BucketBatch> {
    const { bucket, prefix } = parseS3Prefix(quarantine);
    const store = await Bucket.open({ bucket, rootDirectory: '', v2Prefix: prefix, v2Url: quarantine });
    let best: { dir: string; journal: BucketBatchJournal } | undefined;
    for (const dir of await store.listDirs(prefix)) {
      const journal = await readJournal(store, dir);
      if (
        journal?.root === root &&
        journal.status === 'running' &&
        (journal.command ?? 'prune') === command &&
        (!best || journal.createdAt > best.journal.createdAt)
      )
        best = { dir, journal };
    }
    if (best) return new BucketBatch(store, best.dir, best.journal, true);
    const name = `${command === 'gc' ? 'gc' : 'batch'}-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
    const journal: BucketBatchJournal = {
      tool: 'regaudit',
      toolVersion: TOOL_VERSION,
      kind: 's3-quarantine',
      root,
      createdAt: new Date(nowMs).toISOString(),
      host: hostname(),
      status: 'running',
      command,
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
    const copies = new Map<string, ListedObject>();
    for (const p of new Set(rels.map(verifyPrefix)))
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

/** Where the copies of `rel` are listed back: its repository, or all of blobs/ (one listing for a gc's blobs). */
function verifyPrefix(rel: string): string {
  return rel.startsWith(`${REPOSITORIES}/`) ? rel.slice(0, rel.indexOf('/_') + 1) : rel.slice(0, rel.indexOf('/') + 1);
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

/** A gc batch put back: keys relative to docker/registry/v2 (the shape of a filesystem gc restore). */
export interface BucketGcRestore {
  batch: string;
  root: string;
  /** Keys copied back, blobs first. */
  restored: string[];
  /** Blob keys the root holds again (pushed since): the batch's copy is dropped, the digest fixes the content. */
  alreadyPresent: string[];
}

const repositoryOf = (rel: string): string => rel.slice(REPOSITORIES.length + 1, rel.indexOf('/_'));

/**
 * Copies every key of a batch back to where it came from, then removes it from the batch. Refused
 * as a whole, before anything is copied: for a prune batch, when the root holds a key of a batch
 * repository's parts that this batch did not take (pushed since), or a different object under a
 * key it did take; for a gc batch, when the root holds a different object under a key it took
 * (a blob excepted: its digest fixes its content).
 */
export async function restoreBucketBatch(
  batchUrl: string,
  rootOverride?: string,
): Promise<({ command: 'prune' } & BucketRestore) | ({ command: 'gc' } & BucketGcRestore)> {
  const { bucket, prefix } = parseS3Prefix(batchUrl);
  const store = await Bucket.open({ bucket, rootDirectory: '', v2Prefix: prefix, v2Url: batchUrl });
  try {
    const journal = await readJournal(store, prefix);
    if (!journal) throw new StorageError(`${batchUrl}: no quarantine batch here (no readable ${JOURNAL})`);
    const root = parseS3Url(rootOverride ?? journal.root);
    const target = await Bucket.open(root);
    try {
      const held = [
        ...(await store.listAll(`${prefix}${REPOSITORIES}/`)),
        ...(journal.command === 'gc' ? await store.listAll(`${prefix}${BLOBS}/`) : []),
      ];
      const inBatch = new Map(held.map((o) => [o.key.slice(prefix.length), o]));
      const save = async (): Promise<void> => {
        journal.status = 'restored';
        await store.put(`${prefix}${JOURNAL}`, `${JSON.stringify(journal, null, 2)}\n`);
      };
      if (journal.command === 'gc') {
        const r = await restoreGcKeys(store, target, inBatch, new Set(journal.keys));
        await save();
        return { command: 'gc', batch: batchUrl, root: root.v2Url, ...r };
      }
      const taken = new Set(journal.keys);
      const names = new Set(journal.keys.map(repositoryOf));
      for (const name of names) {
        for (const o of await target.listAll(`${root.v2Prefix}${repositoryPath(name)}/_`)) {
          const rel = o.key.slice(root.v2Prefix.length);
          if (repositoryOf(rel) !== name) continue;
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
        const name = repositoryOf(rel);
        const part = rel.slice(rel.indexOf('/_') + 1).split('/')[0]!;
        if (!parts.has(name)) parts.set(name, new Set());
        parts.get(name)!.add(part);
      }
      await save();
      return {
        command: 'prune',
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

/**
 * A gc batch's keys back into `target`: the root is listed where the batch's keys go (their
 * repositories' parts, their blobs' fan-out directories), then blobs are copied back first and
 * links after them, so no link comes back before what it names. A key already back with the same
 * size and ETag (a killed restore) only leaves the batch.
 */
async function restoreGcKeys(
  store: Bucket,
  target: Bucket,
  inBatch: ReadonlyMap<string, ListedObject>,
  taken: ReadonlySet<string>,
): Promise<Omit<BucketGcRestore, 'batch' | 'root'>> {
  const v2 = target.location.v2Prefix;
  const prefixes = new Set<string>();
  for (const rel of inBatch.keys()) {
    if (!taken.has(rel)) continue;
    prefixes.add(
      rel.startsWith(`${REPOSITORIES}/`)
        ? `${repositoryPath(repositoryOf(rel))}/_`
        : rel.slice(0, rel.lastIndexOf('/', rel.lastIndexOf('/') - 1) + 1),
    );
  }
  const present = new Map<string, ListedObject>();
  await Promise.all(
    [...prefixes].map(async (p) => {
      for (const o of await target.listAll(`${v2}${p}`)) present.set(o.key.slice(v2.length), o);
    }),
  );
  const alreadyPresent: string[] = [];
  const back: string[] = [];
  const drop: string[] = [];
  for (const [rel, copy] of [...inBatch].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!taken.has(rel)) continue;
    const now = present.get(rel);
    if (now === undefined) back.push(rel);
    else if (rel.startsWith(`${BLOBS}/`)) alreadyPresent.push(rel);
    else if (now.size === copy.size && now.etag === copy.etag) drop.push(rel);
    else throw new StorageError(`${rel} exists again with other content (written since the gc); nothing was restored`);
  }
  const restored: string[] = [];
  const blobsFirst = [back.filter((r) => r.startsWith(`${BLOBS}/`)), back.filter((r) => !r.startsWith(`${BLOBS}/`))];
  for (const group of blobsFirst) {
    await Promise.all(group.map((rel) => target.copy(inBatch.get(rel)!.key, `${v2}${rel}`, store.location.bucket)));
    await store.remove(group.map((rel) => inBatch.get(rel)!.key));
    restored.push(...group);
  }
  await store.remove([...alreadyPresent, ...drop].map((rel) => inBatch.get(rel)!.key));
  return { restored: [...restored, ...drop], alreadyPresent };
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
