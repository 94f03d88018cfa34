/**
 * Reads registry storage in a bucket into the same records the filesystem walk produces
 * (scan/records.ts), with as few requests as the layout allows:
 *
 * - the whole prefix is listed flat (ListObjectsV2, 1,000 keys a page) in independent key ranges
 *   that run concurrently: blobs by their two-hex fan-out, repositories by the first character of
 *   their name (a repository's keys never straddle two ranges);
 * - a `_layers`, revision or tag-index `link` holds `<alg>:<hex>` of its own path, and a single-PUT
 *   object's ETag is the MD5 of its bytes: a link whose listed ETag and size match that content is
 *   not read; the others (multipart or encrypted uploads, real damage) are;
 * - a tag's `current/link` holds a digest the repository's revisions or the tag's index name (the
 *   registry writes both with it): when its ETag is the MD5 of one of those, that is its content;
 *   otherwise it is read;
 * - every upload's `startedat` and every distinct manifest blob is read once; sizes and modification
 *   times come from the listing;
 * - on a repeat scan (`memory`), a manifest blob whose listed size, LastModified and ETag are the ones
 *   the previous scan read is not read again: its bytes are fixed by its digest, so the previous
 *   scan's record of it stands.
 *
 * There are no directories on object storage: a directory exists while a key lies below it, so an
 * emptied part leaves nothing behind (the registry's own walk sees it the same way).
 */
import { createHash } from 'node:crypto';
import type { Digest } from '../../layout/digest.js';
import { parseDigest, splitDigest } from '../../layout/digest.js';
import { MANIFEST_MAX_BYTES, parseManifest } from '../../layout/manifest.js';
import { impliedDirectories, repositoryKey } from '../../layout/object-keys.js';
import {
  BLOBS,
  REPOSITORIES,
  TRASH_DIR,
  parsePath,
  pathFor,
  repositoryPath,
  type RepositoryPart,
} from '../../layout/paths.js';
import type {
  DebrisRecord,
  LinkKind,
  LinkRecord,
  ManifestRecord,
  RepositorySnapshot,
  ScanSink,
  UploadRecord,
} from '../../index/records.js';
import { emptySnapshot } from '../../index/records.js';
import type { Bucket, ListedObject } from './client.js';

/** A sha512 link is 135 bytes; anything past this is not a link (as on the filesystem). */
const LINK_MAX_BYTES = 256;
const STARTEDAT_MAX_BYTES = 128;
/** Manifest reads allowed to wait before the listing pauses for them (keeps memory flat). */
const MAX_PENDING_MANIFESTS = 2048;

export interface BucketReadStats {
  keys: number;
  repositories: number;
  /** Link GETs saved by the ETag check. */
  linksTrusted: number;
  /** Manifest blobs read (GET), and taken from the previous scan because their object is unchanged. */
  manifestsRead: number;
  manifestsReused: number;
}

/** What the previous scan of the same root parsed (index/bucket-manifests.ts), and where this one records. */
export interface ManifestMemory {
  /** True when the previous scan parsed `digest` (worth waiting for its blob's listing). */
  has(digest: Digest): boolean;
  /** The previous scan's record when the listed object is the one it read, else undefined. */
  recall(digest: Digest, listed: ListedObject): ManifestRecord | undefined;
  /** The ETag of the object `digest`'s record in this scan comes from. */
  remember(digest: Digest, etag: string): void;
}

/** A key range (lower, upper] relative to docker/registry/v2; undefined is unbounded. */
export interface KeyRange {
  lower?: string;
  upper?: string;
}

/** Where the listing starts: three ranges, split further while they turn out long (see split). */
export function initialRanges(): KeyRange[] {
  return [
    { upper: `${BLOBS}/sha256/80` },
    { lower: `${BLOBS}/sha256/80`, upper: `${REPOSITORIES}/` },
    { lower: `${REPOSITORIES}/` },
  ];
}

const LOWEST = 0x20;
const HIGHEST = 0x7f;

/** A key strictly between `l` and `u` (u undefined: above every printable key), or undefined. */
export function midKey(l: string, u?: string): string | undefined {
  for (let i = 0; ; i++) {
    const lc = i < l.length ? l.charCodeAt(i) : LOWEST - 1;
    const uc = u !== undefined && i < u.length ? u.charCodeAt(i) : HIGHEST;
    if (u !== undefined && i >= u.length && i >= l.length) return undefined;
    if (lc === uc) continue;
    if (lc > uc) return undefined;
    if (uc - lc >= 2) return l.slice(0, i) + String.fromCharCode((lc + uc) >> 1);
    // Adjacent characters: stay on l's side and look for room further on.
    for (let j = i + 1; j < l.length + 1; j++) {
      const c = j < l.length ? l.charCodeAt(j) : LOWEST - 1;
      if (HIGHEST - c >= 2) return l.slice(0, j) + String.fromCharCode((c + HIGHEST) >> 1);
    }
    return undefined;
  }
}

/** The characters of repository names and hex digests, in key order: what the keys are made of. */
const KEY_CHARS = '-./0123456789_abcdefghijklmnopqrstuvwxyz';
/** Pages a range keeps ahead of its last key when it hands the rest of its keys to a new range. */
const AHEAD_PAGES = 6;

/** Characters of a key position weighed by aheadKey. */
const AHEAD_DIGITS = 4;

/**
 * A key about AHEAD_PAGES pages past `last`, judged by the width of the page [first, last]: keys are
 * read as base-41 numbers (KEY_CHARS) from the character before the first one where the two differ,
 * so the step carries over into it. Undefined for characters outside KEY_CHARS or nothing ahead.
 */
export function aheadKey(first: string, last: string): string | undefined {
  let p = 0;
  while (p < first.length && p < last.length && first[p] === last[p]) p++;
  if (p >= last.length) return undefined;
  const q = Math.max(0, p - 1);
  const n = KEY_CHARS.length;
  const value = (k: string): number | undefined => {
    let v = 0;
    for (let i = 0; i < AHEAD_DIGITS; i++) {
      const d = q + i < k.length ? KEY_CHARS.indexOf(k[q + i]!) : 0;
      if (d < 0) return undefined;
      v = v * n + d;
    }
    return v;
  };
  const from = value(first);
  const to = value(last);
  if (from === undefined || to === undefined) return undefined;
  let v = to + Math.max(1, (to - from) * AHEAD_PAGES);
  if (v >= n ** AHEAD_DIGITS) return q > 0 ? last.slice(0, q) + '~' : undefined;
  let tail = '';
  for (let i = 0; i < AHEAD_DIGITS; i++, v = Math.floor(v / n)) tail = KEY_CHARS[v % n]! + tail;
  const key = last.slice(0, q) + tail.replace(/-+$/, '');
  return key > last ? key : undefined;
}

/**
 * Where to cut the rest of a range whose listing reached `last`. Given the page's `first` key: about
 * AHEAD_PAGES pages further at the density the page showed, and no cut when that is past `upper`
 * (names are not spread evenly over the key space: halving it blindly cuts off ranges that hold
 * nothing and cost a LIST each, twice the floor's LISTs on the benchmark tree); otherwise halfway to
 * the upper bound. Under repositories/ only at a point without a '/' after `repositories/`, which
 * keeps every repository's keys (`repositories/<name>/_...`) on one side.
 */
export function splitPoint(last: string, upper: string | undefined, first?: string): string | undefined {
  const inRepos = last.startsWith(`${REPOSITORIES}/`);
  const top = upper ?? (inRepos ? `${REPOSITORIES}/\u007f` : undefined);
  const ahead = first !== undefined ? aheadKey(first, last) : undefined;
  if (ahead !== undefined && top !== undefined && ahead >= top) return undefined;
  let m = ahead ?? midKey(last, top);
  if (m === undefined) return undefined;
  if (inRepos) {
    const slash = m.indexOf('/', REPOSITORIES.length + 1);
    if (slash !== -1) m = m.slice(0, slash);
  } else if (!m.startsWith(`${BLOBS}/`)) return undefined;
  else {
    // Past the last fan-out of its algorithm (a density cut over letters beyond `f`): nothing of it
    // lies there, so the range after the cut would list the next part's keys only to drop them.
    const alg = m.slice(BLOBS.length + 1).split('/')[0];
    if (alg !== undefined && m.length > BLOBS.length + alg.length + 2 && m > `${BLOBS}/${alg}/ff/\u007f`)
      return undefined;
  }
  return m > last && (upper === undefined || m < upper) ? m : undefined;
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function strayKind(name: string): DebrisRecord['kind'] {
  return name.endsWith('.tmp') ? 'tmp-file' : 'unrecognized';
}

function startedMsOf(text: string): number | null {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && /^\d{4}-\d\d-\d\dT/.test(text) ? ms : null;
}

/** One repository's keys (relative to the repository directory) as the listing gave them. */
export interface RepositoryKeys {
  name: string;
  objects: Array<{ rest: string; part: RepositoryPart; o: ListedObject }>;
}

export class BucketReader {
  readonly stats: BucketReadStats = { keys: 0, repositories: 0, linksTrusted: 0, manifestsRead: 0, manifestsReused: 0 };
  private readonly manifestsSeen = new Set<Digest>();
  /** Repeat scans: manifests a revision link named, waiting for their blob to be listed. */
  private readonly awaitingBlob = new Set<Digest>();
  /** Repeat scans: blobs the previous scan parsed, listed before any revision link named them. */
  private readonly listedKnown = new Map<Digest, ListedObject>();
  private readonly pendingManifests = new Set<Promise<void>>();
  private readonly manifestWaiters: Array<() => void> = [];
  /** Ranges being listed; a long one hands its upper half to a new range while listing slots are free. */
  private readonly ranges = new Set<Promise<void>>();

  constructor(
    private readonly bucket: Bucket,
    private readonly sink?: ScanSink,
    private readonly memory?: ManifestMemory,
  ) {}

  /** Lists every range, reads what must be read, and waits for every manifest. */
  async read(): Promise<void> {
    for (const r of initialRanges()) this.startRange(r);
    while (this.ranges.size > 0) await Promise.all([...this.ranges]);
    // Named by a revision link but not listed: gone or written since; the GET tells which.
    for (const d of this.awaitingBlob) this.readManifestOnce(d);
    this.awaitingBlob.clear();
    this.listedKnown.clear();
    await Promise.all([...this.pendingManifests]);
    if (this.failure) throw this.failure.err;
    this.sink!.flush?.();
  }

  private startRange(range: KeyRange): void {
    const p: Promise<void> = this.readRange(range)
      .catch((err: unknown) => this.fail(err))
      .finally(() => this.ranges.delete(p));
    this.ranges.add(p);
  }

  /** The first failure ends the read: kept here (no promise is left rejected), thrown by read(). */
  private failure: { err: unknown } | undefined;
  private fail(err: unknown): void {
    this.failure ??= { err };
    for (const wake of this.manifestWaiters.splice(0)) wake();
  }

  private async readRange(range: KeyRange): Promise<void> {
    const base = this.bucket.location.v2Prefix;
    const prefix =
      range.lower !== undefined && range.upper !== undefined ? base + commonPrefix(range.lower, range.upper) : base;
    let upper = range.upper !== undefined ? base + range.upper : undefined;
    let current: RepositoryKeys | undefined;
    let lastDebris = '';
    const pending: Array<Promise<void>> = [];
    const debrisOnce = (path: string, kind: DebrisRecord['kind'], detail: string): void => {
      if (path === lastDebris) return;
      lastDebris = path;
      this.sink!.debris({ path, kind, detail });
    };
    let page = await this.bucket.list(prefix, range.lower !== undefined ? { startAfter: base + range.lower } : {});
    for (;;) {
      // Ask for the next page while this one is read, unless this one already runs past the range
      // (a page fetched only to be dropped: a LIST per range on RGW, where LISTs are the costly request).
      const past = upper !== undefined && (page.objects.at(-1)?.key ?? '') > upper;
      const nextPage = page.next !== undefined && !past ? this.bucket.list(prefix, { token: page.next }) : undefined;
      // Handled here so a failure while this page is read cannot leave it unhandled; awaited below.
      nextPage?.catch(() => undefined);
      let done = nextPage === undefined;
      for (const o of page.objects) {
        if (upper !== undefined && o.key > upper) {
          done = true;
          break;
        }
        this.stats.keys++;
        const rel = o.key.slice(base.length);
        const top = rel.slice(0, rel.indexOf('/') + 1);
        if (top === `${BLOBS}/`) {
          const p = parsePath(rel);
          if (p.kind === 'blobData') {
            this.sink!.blob({ digest: p.digest, size: o.size, mtimeMs: o.lastModifiedMs });
            if (this.memory) this.blobListed(p.digest, o);
          } else {
            const name = rel.slice(rel.lastIndexOf('/') + 1);
            debrisOnce(
              rel,
              strayKind(name),
              name.endsWith('.tmp') ? 'temporary file left by an interrupted write' : 'not part of the blob layout',
            );
          }
          continue;
        }
        if (top !== `${REPOSITORIES}/`) continue; // the registry reads nothing else under v2 either
        const k = repositoryKey(rel);
        if (!k) continue;
        if (k.kind === 'part') {
          if (current?.name !== k.repo) {
            if (current) pending.push(this.repository(current));
            current = { name: k.repo, objects: [] };
          }
          current.objects.push({ rest: k.rest, part: k.part, o });
        } else if (k.kind === 'underscore') {
          const dir = `${repositoryPath(k.repo)}/${k.entry}`;
          if (k.entry === TRASH_DIR)
            debrisOnce(dir, 'pending-deletion', 'left by an interrupted prune; prune finishes it');
          else debrisOnce(dir, 'unknown-directory', 'unknown _-prefixed entry (the registry skips it)');
        } else {
          const name = rel.slice(rel.lastIndexOf('/') + 1);
          debrisOnce(
            rel,
            name.endsWith('.tmp') ? 'tmp-file' : 'stray-file',
            name.endsWith('.tmp') ? 'temporary file left by an interrupted write' : 'file under repositories/',
          );
        }
      }
      // A long range: hand the part above the halfway point to a range of its own.
      const last = page.objects.at(-1)?.key;
      if (!done && last !== undefined && this.ranges.size < Math.max(1, this.bucket.requests >> 1)) {
        const cut = splitPoint(
          last.slice(base.length),
          upper?.slice(base.length),
          page.objects[0]!.key.slice(base.length),
        );
        if (cut !== undefined) {
          this.startRange({ lower: cut, ...(upper !== undefined ? { upper: upper.slice(base.length) } : {}) });
          upper = base + cut;
        }
      }
      // Bounded work per range: what this page started finishes before the next page is read.
      await Promise.all(pending.splice(0));
      if (this.pendingManifests.size > MAX_PENDING_MANIFESTS)
        await new Promise<void>((resolve) => this.manifestWaiters.push(resolve));
      if (done || nextPage === undefined || this.failure) {
        if (nextPage) await nextPage.catch(() => undefined);
        break;
      }
      page = await nextPage;
    }
    if (current) await this.repository(current);
  }

  private async repository(keys: RepositoryKeys): Promise<void> {
    this.stats.repositories++;
    const snap = await this.snapshot(keys);
    for (const l of snap.links) if (l.kind === 'revision' && l.digest) this.manifest(l.digest);
    this.sink!.repository(snap);
  }

  /** One repository's snapshot from its keys, reading the links the listing cannot vouch for. */
  async snapshot(keys: RepositoryKeys): Promise<RepositorySnapshot> {
    const snap = emptySnapshot(keys.name);
    const relBase = repositoryPath(keys.name);
    const dirs = new Set<string>();
    const tags = new Set<string>();
    const uploads = new Map<string, UploadRecord>();
    const reads: Array<Promise<void>> = [];
    const stamp = createHash('sha1');
    const debris = (rest: string, kind: DebrisRecord['kind'], detail: string): void => {
      snap.debris.push({ path: `${relBase}/${rest}`, kind, detail });
    };
    // What a tag's current/link may hold: a revision or an entry of the tag's index. Its ETag names which.
    const candidates = new Map<string, Digest>();
    for (const { part, rest, o } of keys.objects) {
      if (part !== '_manifests' || !rest.endsWith('/link') || o.size === 0) continue;
      const p = parsePath(`${relBase}/${part}/${rest}`);
      if (p.kind === 'revisionLink' || p.kind === 'tagIndexLink') candidates.set(md5(p.digest), p.digest);
    }
    for (const { rest, part, o } of keys.objects) {
      stamp.update(`${part}/${rest}\u0000${o.etag}\u0000${o.size}\u0000${o.lastModifiedMs}\n`);
      snap.entries++;
      if (o.lastModifiedMs > snap.newestMtimeMs) snap.newestMtimeMs = o.lastModifiedMs;
      if (part === '_layers') snap.hasLayers = true;
      else if (part === '_manifests') snap.hasManifests = true;
      else snap.hasUploads = true;
      if (rest === '') {
        // A file where the registry expects a directory: what the part holds is unknown.
        snap.problem ??= `${part} is a file, not a directory`;
        debris(part, 'unrecognized', `${part} is not a directory`);
        continue;
      }
      const inPart = `${part}/${rest}`;
      for (const d of impliedDirectories(inPart)) dirs.add(d);
      dirs.add(part);
      const p = parsePath(`${relBase}/${inPart}`);
      switch (p.kind) {
        case 'layerLink':
          reads.push(this.link(snap, inPart, o, 'layer', null, p.digest));
          break;
        case 'revisionLink':
          reads.push(this.link(snap, inPart, o, 'revision', null, p.digest));
          break;
        case 'tagIndexLink':
          tags.add(p.tag);
          reads.push(this.link(snap, inPart, o, 'tag-index', p.tag, p.digest));
          break;
        case 'tagCurrentLink':
          tags.add(p.tag);
          reads.push(this.link(snap, inPart, o, 'tag-current', p.tag, null, candidates.get(o.etag) ?? null));
          break;
        default: {
          const segs = inPart.split('/');
          if (part === '_uploads') {
            const id = segs[1]!;
            let u = uploads.get(id);
            if (!u) uploads.set(id, (u = { id, startedAt: null, startedMs: null, size: 0, mtimeMs: 0 }));
            u.mtimeMs = Math.max(u.mtimeMs, o.lastModifiedMs);
            if (p.kind === 'uploadData') u.size = o.size;
            else if (p.kind === 'uploadStartedAt') reads.push(this.startedAt(snap, inPart, u));
            break;
          }
          if (part === '_manifests' && segs[1] === 'tags' && segs.length > 3) tags.add(segs[2]!);
          if (part === '_manifests' && segs[1] === 'revisions' && segs[4] === 'signatures') {
            const dir = segs.slice(0, 5).join('/');
            if (snap.debris.at(-1)?.path !== `${relBase}/${dir}`)
              debris(dir, 'legacy-signatures', 'schema1 signature links from registry ≤ 2.4');
            break;
          }
          const name = segs.at(-1)!;
          debris(
            inPart,
            strayKind(name),
            name.endsWith('.tmp') ? 'temporary file left by an interrupted write' : 'unexpected file',
          );
        }
      }
      if (part === '_manifests' && rest.startsWith('tags/')) snap.hasTagsDir = true;
    }
    await Promise.all(reads);
    snap.entries += dirs.size;
    // Uploads, links and tags in key order: the listing's order, whatever order the reads finished in.
    snap.links.sort((a, b) => linkOrder(a).localeCompare(linkOrder(b)));
    snap.tags = [...tags].sort();
    snap.uploads = [...uploads.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    snap.stamp = stamp.digest('base64');
    return snap;
  }

  /** A link record; read only when the listing does not prove its content. */
  private async link(
    snap: RepositorySnapshot,
    inPart: string,
    o: ListedObject,
    kind: LinkKind,
    tag: string | null,
    pathDigest: Digest | null,
    /** The digest whose MD5 the listed ETag equals, when one of the repository's is known. */
    proven: Digest | null = pathDigest,
  ): Promise<void> {
    const rec: LinkRecord = {
      kind,
      tag,
      pathDigest,
      digest: null,
      problem: null,
      raw: null,
      size: o.size,
      mtimeMs: o.lastModifiedMs,
    };
    snap.links.push(rec);
    if (proven && o.size === proven.length && o.etag === md5(proven)) {
      this.stats.linksTrusted++;
      rec.digest = proven;
      return;
    }
    const got = await this.bucket.get(this.bucket.key(`${repositoryPath(snap.name)}/${inPart}`), LINK_MAX_BYTES);
    if (!got.found) {
      rec.problem = 'unreadable';
      rec.raw = got.why;
      rec.size = 0;
      rec.mtimeMs = 0;
      snap.problem ??= `${inPart}: ${got.why}`;
      return;
    }
    const text = got.bytes.toString('utf8');
    rec.size = got.size;
    if (got.truncated) rec.problem = 'too-large';
    else if (got.size === 0) rec.problem = 'empty';
    else {
      rec.digest = parseDigest(text);
      if (!rec.digest) rec.problem = 'invalid';
    }
    if (rec.problem) rec.raw = JSON.stringify(text.slice(0, 80));
  }

  private async startedAt(snap: RepositorySnapshot, inPart: string, u: UploadRecord): Promise<void> {
    const got = await this.bucket.get(this.bucket.key(`${repositoryPath(snap.name)}/${inPart}`), STARTEDAT_MAX_BYTES);
    if (!got.found) {
      snap.problem ??= `${inPart}: ${got.why}`;
      snap.debris.push({ path: `${repositoryPath(snap.name)}/${inPart}`, kind: 'unreadable', detail: got.why });
      return;
    }
    u.startedAt = got.bytes.toString('utf8');
    u.startedMs = startedMsOf(u.startedAt);
  }

  /**
   * A revision link names `digest`: the first time, its manifest is read, or on a repeat scan taken
   * from the previous one once its blob's listing shows the same object.
   */
  private manifest(digest: Digest): void {
    if (this.manifestsSeen.has(digest)) return;
    this.manifestsSeen.add(digest);
    if (!this.memory?.has(digest)) return this.readManifestOnce(digest);
    const listed = this.listedKnown.get(digest);
    if (listed === undefined) this.awaitingBlob.add(digest);
    else {
      this.listedKnown.delete(digest);
      this.recallOrRead(digest, listed);
    }
  }

  /** Repeat scans: a manifest blob's listing, matched with the revision links that name it. */
  private blobListed(digest: Digest, o: ListedObject): void {
    if (this.awaitingBlob.delete(digest)) this.recallOrRead(digest, o);
    else if (!this.manifestsSeen.has(digest) && this.memory!.has(digest)) this.listedKnown.set(digest, o);
  }

  private recallOrRead(digest: Digest, listed: ListedObject): void {
    const known = this.memory!.recall(digest, listed);
    if (known === undefined) return this.readManifestOnce(digest);
    this.stats.manifestsReused++;
    this.memory!.remember(digest, listed.etag);
    this.sink!.manifest(known);
  }

  private readManifestOnce(digest: Digest): void {
    const p = this.readManifest(digest).then(
      (m) => this.sink!.manifest(m),
      (err: unknown) => this.fail(err),
    );
    void p.finally(() => {
      this.pendingManifests.delete(p);
      // Listing waits while too many reads queue; it goes on once half of them are done.
      if (this.pendingManifests.size <= MAX_PENDING_MANIFESTS / 2)
        for (const wake of this.manifestWaiters.splice(0)) wake();
    });
    this.pendingManifests.add(p);
  }

  private async readManifest(digest: Digest): Promise<ManifestRecord> {
    const rec: ManifestRecord = { digest, mediaType: null, schemaVersion: null, size: 0, problem: null, refs: [] };
    this.stats.manifestsRead++;
    const got = await this.bucket.get(
      this.bucket.key(pathFor({ kind: 'blobData', digest })),
      MANIFEST_MAX_BYTES,
      false,
    );
    if (!got.found) {
      rec.problem = got.why === 'no such key' ? 'missing' : 'unreadable';
      return rec;
    }
    this.memory?.remember(digest, got.etag);
    rec.size = got.size;
    if (got.truncated) rec.problem = 'too-large';
    else {
      const parsed = parseManifest(got.bytes.toString('utf8'));
      if (parsed.ok) {
        rec.mediaType = parsed.mediaType;
        rec.schemaVersion = parsed.schemaVersion;
        rec.refs = parsed.refs;
      } else rec.problem = parsed.problem;
    }
    return rec;
  }
}

function linkOrder(l: LinkRecord): string {
  const d = l.pathDigest ? splitDigest(l.pathDigest) : { alg: '', hex: '' };
  return `${l.kind}\u0000${l.tag ?? ''}\u0000${d.alg}/${d.hex}`;
}

/** The objects of one repository's parts, listed again (prune's re-check): one LIST per 1,000 keys. */
export async function listRepository(bucket: Bucket, name: string): Promise<RepositoryKeys> {
  const base = bucket.location.v2Prefix;
  const objects: RepositoryKeys['objects'] = [];
  for (const o of await bucket.listAll(`${base}${repositoryPath(name)}/_`)) {
    const k = repositoryKey(o.key.slice(base.length));
    if (k?.kind === 'part' && k.repo === name) objects.push({ rest: k.rest, part: k.part, o });
  }
  return { name, objects };
}
