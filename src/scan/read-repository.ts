/**
 * Reads one repository's `_layers`, `_manifests` and `_uploads` (never its nested repositories).
 * Used by the scanner and, just before deleting, by prune to see whether anything changed.
 */
import { digestOf, parseDigest, type Digest } from '../layout/digest.js';
import { LINK_FILE, REPOSITORY_PARTS, repoPathFor, repositoryPath, type RepositoryPart } from '../layout/paths.js';
import { describeFsError, errnoCode } from '../errors.js';
import type { DirEntry, SmallFile, StorageReader } from '../storage/driver.js';
import type { DebrisRecord, LinkKind, LinkRecord, RepositorySnapshot, UploadRecord } from '../index/records.js';
import { emptySnapshot } from '../index/records.js';
import { derivedRepositoryPaths, makeStamp, type StatEntry } from './stamp.js';

/** A sha512 link is 135 bytes; anything past this is not a link. */
const LINK_MAX_BYTES = 256;
const STARTEDAT_MAX_BYTES = 128;

class RepoReader {
  readonly snap: RepositorySnapshot;
  private readonly relBase: string;
  private readonly statted: StatEntry[] = [];

  constructor(
    private readonly storage: StorageReader,
    private readonly absRepo: string,
    name: string,
    /** List every digest directory too, instead of opening its `link` by name (see readRepository). */
    private readonly thorough: boolean,
  ) {
    this.relBase = repositoryPath(name);
    this.snap = emptySnapshot(name);
  }

  private seen(mtimeMs: number, stat?: StatEntry): void {
    if (stat) this.statted.push(stat);
    this.snap.entries++;
    if (mtimeMs > this.snap.newestMtimeMs) this.snap.newestMtimeMs = mtimeMs;
  }

  private debris(rel: string, kind: DebrisRecord['kind'], detail: string | null = null): void {
    this.snap.debris.push({ path: `${this.relBase}/${rel}`, kind, detail });
  }

  private fail(rel: string, err: unknown): void {
    const why = `${rel}: ${describeFsError(err)}`;
    this.snap.problem ??= why;
    this.debris(rel, 'unreadable', describeFsError(err));
  }

  /** Lists a directory, counting it; null (and the repository marked unreadable) on error. */
  private dir(rel: string): DirEntry[] | null {
    if (!this.statDir(rel)) return null;
    try {
      return this.storage.list(`${this.absRepo}/${rel}`);
    } catch (err) {
      this.fail(rel, err);
      return null;
    }
  }

  /** Stats a directory into the snapshot (entries, newest mtime, stamp); false when it failed. */
  private statDir(rel: string): boolean {
    try {
      const st = this.storage.lstat(`${this.absRepo}/${rel}`);
      this.seen(Math.trunc(st.mtimeMs), { rel, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size });
      return true;
    } catch (err) {
      this.fail(rel, err);
      return false;
    }
  }

  /**
   * A digest directory: listed first, and stat'ed only when it holds no `link` file. The link's
   * own stat stands for it (see makeStamp), which saves a syscall per link on large stores.
   */
  private digestDir(rel: string): DirEntry[] | null {
    let entries: DirEntry[];
    try {
      entries = this.storage.list(`${this.absRepo}/${rel}`);
    } catch (err) {
      this.fail(rel, err);
      return null;
    }
    if (entries.some((e) => e.name === LINK_FILE && e.type === 'file')) {
      this.snap.entries++;
      return entries;
    }
    return this.statDir(rel) ? entries : null;
  }

  /** Classifies an entry that is not what the grammar expects at this place. */
  private unexpected(rel: string, type: string, name: string): void {
    if (type === 'symlink') {
      // The registry would follow it; we do not, so what it holds is unknown.
      this.snap.problem ??= `${rel} is a symbolic link`;
      this.debris(rel, 'symlink', 'symbolic link inside a repository (not followed)');
    } else if (name.endsWith('.tmp')) this.debris(rel, 'tmp-file', 'temporary file left by an interrupted write');
    else this.debris(rel, 'unrecognized', `unexpected ${type}`);
  }

  private link(rel: string, kind: LinkKind, tag: string | null, pathDigest: Digest | null): void {
    let f: SmallFile;
    try {
      f = this.storage.readSmall(`${this.absRepo}/${rel}`, LINK_MAX_BYTES);
    } catch (err) {
      const problem = errnoCode(err) === 'ENOTFILE' ? 'not-a-file' : 'unreadable';
      if (problem === 'unreadable') this.snap.problem ??= `${rel}: ${describeFsError(err)}`;
      this.snap.entries++;
      this.snap.links.push({
        kind,
        tag,
        pathDigest,
        digest: null,
        problem,
        raw: describeFsError(err),
        size: 0,
        mtimeMs: 0,
      });
      return;
    }
    this.linkRead(rel, kind, tag, pathDigest, f);
  }

  private linkRead(rel: string, kind: LinkKind, tag: string | null, pathDigest: Digest | null, f: SmallFile): void {
    const rec: LinkRecord = {
      kind,
      tag,
      pathDigest,
      digest: null,
      problem: null,
      raw: null,
      size: f.size,
      mtimeMs: f.mtimeMs,
    };
    this.seen(f.mtimeMs, { rel, mtimeMs: f.mtimeExact, ctimeMs: f.ctimeMs, size: f.size });
    if (f.truncated) rec.problem = 'too-large';
    else if (f.size === 0) rec.problem = 'empty';
    else {
      rec.digest = parseDigest(f.text);
      if (!rec.digest) rec.problem = 'invalid';
    }
    if (rec.problem) rec.raw = JSON.stringify(f.text.slice(0, 80));
    this.snap.links.push(rec);
  }

  /**
   * Outside thorough mode, a digest directory's `link` is opened by name, as the registry reads
   * it, instead of listing the directory first: that saves five syscalls per link. True when it
   * was a readable regular file; anything else (missing, a symlink, a directory, unreadable) is
   * settled by listing the directory as thorough mode does, so only a stray file beside a good
   * link goes unseen.
   */
  private linkByName(dirRel: string, kind: LinkKind, tag: string | null, pathDigest: Digest | null): boolean {
    if (this.thorough) return false;
    let f: SmallFile;
    try {
      f = this.storage.readSmall(`${this.absRepo}/${dirRel}/${LINK_FILE}`, LINK_MAX_BYTES);
    } catch {
      return false;
    }
    this.snap.entries++; // the digest directory, which the link's stat stands for (as in digestDir)
    this.linkRead(`${dirRel}/${LINK_FILE}`, kind, tag, pathDigest, f);
    return true;
  }

  /** `<alg>/<hex>/link` trees: _layers, _manifests/revisions, tags/<t>/index. */
  private digestTree(rel: string, kind: LinkKind, tag: string | null): void {
    const algs = this.dir(rel);
    if (!algs) return;
    for (const a of algs) {
      const aRel = `${rel}/${a.name}`;
      const aType = a.type;
      if (aType !== 'dir') {
        this.unexpected(aRel, aType, a.name);
        continue;
      }
      const hexes = this.dir(aRel);
      if (!hexes) continue;
      for (const h of hexes) {
        const hRel = `${aRel}/${h.name}`;
        const hType = h.type;
        const digest = digestOf(a.name, h.name);
        if (hType !== 'dir' || !digest) {
          this.unexpected(hRel, hType, h.name);
          continue;
        }
        if (this.linkByName(hRel, kind, tag, digest)) continue;
        const files = this.digestDir(hRel);
        if (!files) continue;
        for (const f of files) {
          const fRel = `${hRel}/${f.name}`;
          const fType = f.type;
          if (f.name === LINK_FILE && fType === 'file') this.link(fRel, kind, tag, digest);
          else if (f.name === 'signatures' && kind === 'revision' && fType === 'dir')
            this.debris(fRel, 'legacy-signatures', 'schema1 signature links from registry ≤ 2.4');
          else this.unexpected(fRel, fType, f.name);
        }
      }
    }
  }

  private manifests(): void {
    const manifests = repoPathFor({ kind: 'part', part: '_manifests' });
    const entries = this.dir(manifests);
    if (!entries) return;
    const revisions = repoPathFor({ kind: 'revisionsDir' });
    const tags = repoPathFor({ kind: 'tagsDir' });
    for (const e of entries) {
      const rel = `${manifests}/${e.name}`;
      const type = e.type;
      if (rel === revisions && type === 'dir') this.digestTree(rel, 'revision', null);
      else if (rel === tags && type === 'dir') {
        this.snap.hasTagsDir = true;
        this.tags(rel);
      } else this.unexpected(rel, type, e.name);
    }
  }

  private tags(rel: string): void {
    const tags = this.dir(rel);
    if (!tags) return;
    for (const t of tags) {
      const tRel = repoPathFor({ kind: 'tagDir', tag: t.name });
      const type = t.type;
      if (type !== 'dir') {
        this.unexpected(tRel, type, t.name);
        continue;
      }
      this.snap.tags.push(t.name);
      const inner = this.dir(tRel);
      if (!inner) continue;
      const index = repoPathFor({ kind: 'tagIndexDir', tag: t.name });
      const current = repoPathFor({ kind: 'tagCurrentDir', tag: t.name });
      for (const e of inner) {
        const eRel = `${tRel}/${e.name}`;
        const eType = e.type;
        if (eRel === index && eType === 'dir') this.digestTree(eRel, 'tag-index', t.name);
        else if (eRel === current && eType === 'dir') {
          if (this.linkByName(eRel, 'tag-current', t.name, null)) continue;
          const cur = this.digestDir(eRel);
          for (const c of cur ?? []) {
            const cRel = `${eRel}/${c.name}`;
            const cType = c.type;
            if (c.name === LINK_FILE && cType === 'file') this.link(cRel, 'tag-current', t.name, null);
            else this.unexpected(cRel, cType, c.name);
          }
        } else this.unexpected(eRel, eType, e.name);
      }
    }
  }

  private uploads(): void {
    const ids = this.dir(repoPathFor({ kind: 'part', part: '_uploads' }));
    if (!ids) return;
    for (const u of ids) {
      const rel = repoPathFor({ kind: 'upload', id: u.name });
      const type = u.type;
      if (type !== 'dir') {
        this.unexpected(rel, type, u.name);
        continue;
      }
      const before = this.snap.newestMtimeMs;
      this.snap.newestMtimeMs = 0;
      const rec: UploadRecord = { id: u.name, startedAt: null, startedMs: null, size: 0, mtimeMs: 0 };
      this.uploadTree(rel, rec);
      rec.mtimeMs = this.snap.newestMtimeMs;
      this.snap.newestMtimeMs = Math.max(before, rec.mtimeMs);
      this.snap.uploads.push(rec);
    }
  }

  /** Counts everything in an upload directory; reads startedat, sizes data. */
  private uploadTree(rel: string, rec: UploadRecord): void {
    const entries = this.dir(rel);
    if (!entries) return;
    for (const e of entries) {
      const eRel = `${rel}/${e.name}`;
      const abs = `${this.absRepo}/${eRel}`;
      const type = e.type;
      if (type === 'dir') this.uploadTree(eRel, rec);
      else if (type === 'file') {
        try {
          if (eRel === repoPathFor({ kind: 'uploadStartedAt', id: rec.id })) {
            const f = this.storage.readSmall(abs, STARTEDAT_MAX_BYTES);
            this.seen(f.mtimeMs, { rel: eRel, mtimeMs: f.mtimeExact, ctimeMs: f.ctimeMs, size: f.size });
            rec.startedAt = f.text;
            const ms = Date.parse(f.text);
            rec.startedMs = Number.isFinite(ms) && /^\d{4}-\d\d-\d\dT/.test(f.text) ? ms : null;
          } else {
            const st = this.storage.lstat(abs);
            this.seen(Math.trunc(st.mtimeMs), { rel: eRel, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size });
            if (eRel === repoPathFor({ kind: 'uploadData', id: rec.id })) rec.size = st.size;
          }
        } catch (err) {
          this.fail(eRel, err);
        }
      } else this.unexpected(eRel, type, e.name);
    }
  }

  read(partTypes: ReadonlyMap<RepositoryPart, string>): RepositorySnapshot {
    for (const [part, type] of partTypes) {
      if (type !== 'dir') {
        // A symlinked or non-directory part: contents unknown, so the repository is never deletable.
        this.snap.problem ??= `${part} is a ${type === 'symlink' ? 'symbolic link' : type}, not a directory`;
        this.debris(part, type === 'symlink' ? 'symlink' : 'unrecognized', `${part} is not a directory`);
        if (part === '_layers') this.snap.hasLayers = true;
        if (part === '_manifests') this.snap.hasManifests = true;
        if (part === '_uploads') this.snap.hasUploads = true;
        continue;
      }
      if (part === '_layers') {
        this.snap.hasLayers = true;
        this.digestTree(repoPathFor({ kind: 'layersDir' }), 'layer', null);
      } else if (part === '_manifests') {
        this.snap.hasManifests = true;
        this.manifests();
      } else {
        this.snap.hasUploads = true;
        this.uploads();
      }
    }
    const derived = derivedRepositoryPaths(this.snap);
    Object.assign(this.snap, makeStamp(this.statted, derived));
    return this.snap;
  }
}

/**
 * Reads a repository given the types of its part entries (from its parent's listing).
 * `thorough` lists every digest directory as well, finding stray and temporary files beside good
 * links (crash debris of registry ≥ 3.1, legacy signature links); `entries`, `newestMtimeMs`, the
 * stamp and every link row are the same either way.
 */
export function readRepository(
  storage: StorageReader,
  absRepo: string,
  name: string,
  partTypes: ReadonlyMap<RepositoryPart, string>,
  thorough = false,
): RepositorySnapshot {
  return new RepoReader(storage, absRepo, name, thorough).read(partTypes);
}

/** Reads a repository from scratch, thoroughly unless told (prune's re-check): finds its parts itself. */
export function rereadRepository(
  storage: StorageReader,
  absRepo: string,
  name: string,
  thorough = true,
): RepositorySnapshot {
  const parts = new Map<RepositoryPart, string>();
  for (const part of REPOSITORY_PARTS) {
    try {
      parts.set(part, storage.lstat(`${absRepo}/${part}`).type);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') {
        const snap = new RepoReader(storage, absRepo, name, thorough).read(new Map());
        snap.problem = `${part}: ${describeFsError(err)}`;
        return snap;
      }
    }
  }
  return readRepository(storage, absRepo, name, parts, thorough);
}
