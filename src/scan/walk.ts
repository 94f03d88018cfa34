/**
 * The layout-aware walk of docker/registry/v2: it reads the fixed directories directly with
 * dirent types instead of globbing (measured several times faster than a generic walk on this
 * layout), never follows a symbolic link, and streams what it finds into a sink.
 */
import { lstatSync } from 'node:fs';
import { digestOf, type Digest } from '../layout/digest.js';
import { MANIFEST_MAX_BYTES, parseManifest, type ManifestRef } from '../layout/manifest.js';
import { BLOBS, REPOSITORIES, REPOSITORY_PARTS, pathFor, type RepositoryPart } from '../layout/paths.js';
import { describeFsError, errnoCode } from '../errors.js';
import { entryType, listDir, readFileBounded } from './fsread.js';
import { readRepository } from './read-repository.js';
import type { DebrisRecord, RepositorySnapshot } from './records.js';

export interface BlobRecord {
  digest: Digest;
  size: number;
  mtimeMs: number;
}

export interface ManifestRecord {
  digest: Digest;
  mediaType: string | null;
  schemaVersion: number | null;
  size: number;
  problem: string | null;
  refs: ManifestRef[];
}

/** Where the walk puts what it finds (the index writer, or a test's arrays). */
export interface ScanSink {
  repository(snap: RepositorySnapshot): void;
  blob(b: BlobRecord): void;
  manifest(m: ManifestRecord): void;
  debris(d: DebrisRecord): void;
}

export interface WalkProgress {
  files: number;
  dirs: number;
  repositories: number;
  phase: 'repositories' | 'blobs' | 'manifests';
}

export interface WalkOptions {
  onProgress?: (p: WalkProgress) => void;
}

/** Name of the in-repository staging directory prune renames parts into before removing them. */
export const TRASH_DIR = '_regaudit_trash';

export class StorageWalker {
  readonly progress: WalkProgress = { files: 0, dirs: 0, repositories: 0, phase: 'repositories' };
  private readonly revisionDigests = new Set<Digest>();
  private lastReport = 0;

  constructor(
    private readonly v2: string,
    private readonly sink: ScanSink,
    private readonly opts: WalkOptions = {},
  ) {}

  private tick(files: number, dirs: number): void {
    this.progress.files += files;
    this.progress.dirs += dirs;
    if (this.opts.onProgress && this.progress.files - this.lastReport >= 5000) {
      this.lastReport = this.progress.files;
      this.opts.onProgress(this.progress);
    }
  }

  run(): void {
    this.progress.phase = 'repositories';
    this.namespace(`${this.v2}/${REPOSITORIES}`, '');
    this.progress.phase = 'blobs';
    this.blobs();
    this.progress.phase = 'manifests';
    this.manifests();
    this.opts.onProgress?.(this.progress);
  }

  private list(abs: string, rel: string): ReturnType<typeof listDir> | null {
    try {
      return listDir(abs);
    } catch (err) {
      // A missing repositories/ or blobs/ is an empty store (registry GC treats it so), not debris.
      if (errnoCode(err) === 'ENOENT' && (rel === REPOSITORIES || rel === BLOBS)) return null;
      this.sink.debris({ path: rel, kind: 'unreadable', detail: describeFsError(err) });
      return null;
    }
  }

  /** A directory under repositories/: a repository, a namespace, or both. */
  private namespace(abs: string, name: string): void {
    const rel = name === '' ? REPOSITORIES : `${REPOSITORIES}/${name}`;
    const entries = this.list(abs, rel);
    if (!entries) return;
    this.tick(0, 1);
    const parts = new Map<RepositoryPart, string>();
    for (const e of entries) {
      if ((REPOSITORY_PARTS as readonly string[]).includes(e.name)) parts.set(e.name as RepositoryPart, entryType(e, `${abs}/${e.name}`));
    }
    if (name !== '' && parts.size > 0) {
      const snap = readRepository(abs, name, parts);
      this.progress.repositories++;
      this.tick(snap.links.length + snap.uploads.length, Math.max(0, snap.entries - snap.links.length));
      for (const l of snap.links) if (l.kind === 'revision' && l.digest) this.revisionDigests.add(l.digest);
      this.sink.repository(snap);
    }
    if (entries.length === 0 && name !== '') {
      this.sink.debris({ path: rel, kind: 'empty-directory', detail: 'empty directory under repositories/' });
    }
    for (const e of entries) {
      const childAbs = `${abs}/${e.name}`;
      const childRel = `${rel}/${e.name}`;
      if (e.name.startsWith('_')) {
        if (parts.has(e.name as RepositoryPart)) continue;
        if (e.name === TRASH_DIR) this.sink.debris({ path: childRel, kind: 'pending-deletion', detail: 'left by an interrupted prune; prune finishes it' });
        else this.sink.debris({ path: childRel, kind: 'unknown-directory', detail: 'unknown _-prefixed entry (the registry skips it)' });
        continue;
      }
      const type = entryType(e, childAbs);
      if (type === 'dir') this.namespace(childAbs, name === '' ? e.name : `${name}/${e.name}`);
      else if (type === 'symlink') this.sink.debris({ path: childRel, kind: 'symlink', detail: 'symbolic link under repositories/ (not followed)' });
      else if (e.name.endsWith('.tmp')) this.sink.debris({ path: childRel, kind: 'tmp-file', detail: 'temporary file left by an interrupted write' });
      else this.sink.debris({ path: childRel, kind: 'stray-file', detail: `${type} under repositories/` });
    }
  }

  /** blobs/<alg>/<xx>/<hex>/data */
  private blobs(): void {
    const base = `${this.v2}/${BLOBS}`;
    const algs = this.list(base, BLOBS);
    if (!algs) return;
    for (const a of algs) {
      const aRel = `${BLOBS}/${a.name}`;
      if (entryType(a, `${base}/${a.name}`) !== 'dir') {
        this.stray(aRel, a.name);
        continue;
      }
      const fans = this.list(`${base}/${a.name}`, aRel);
      if (!fans) continue;
      this.tick(0, 1);
      for (const f of fans) {
        const fRel = `${aRel}/${f.name}`;
        const fAbs = `${this.v2}/${fRel}`;
        if (entryType(f, fAbs) !== 'dir') {
          this.stray(fRel, f.name);
          continue;
        }
        const hexes = this.list(fAbs, fRel);
        if (!hexes) continue;
        this.tick(0, 1);
        for (const h of hexes) {
          const hRel = `${fRel}/${h.name}`;
          const hAbs = `${this.v2}/${hRel}`;
          const digest = digestOf(a.name, h.name);
          if (!digest || h.name.slice(0, 2) !== f.name || entryType(h, hAbs) !== 'dir') {
            this.stray(hRel, h.name);
            continue;
          }
          const files = this.list(hAbs, hRel);
          if (!files) continue;
          this.tick(0, 1);
          for (const file of files) {
            const dRel = `${hRel}/${file.name}`;
            const type = entryType(file, `${this.v2}/${dRel}`);
            if (file.name !== 'data' || type !== 'file') {
              this.stray(dRel, file.name, type);
              continue;
            }
            try {
              const st = lstatSync(`${this.v2}/${dRel}`);
              this.sink.blob({ digest, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
              this.tick(1, 0);
            } catch (err) {
              this.sink.debris({ path: dRel, kind: 'unreadable', detail: describeFsError(err) });
            }
          }
        }
      }
    }
  }

  private stray(rel: string, name: string, type?: string): void {
    if (type === 'symlink') this.sink.debris({ path: rel, kind: 'symlink', detail: 'symbolic link under blobs/ (not followed)' });
    else if (name.endsWith('.tmp')) this.sink.debris({ path: rel, kind: 'tmp-file', detail: 'temporary file left by an interrupted write' });
    else this.sink.debris({ path: rel, kind: 'unrecognized', detail: 'not part of the blob layout' });
  }

  /** Reads every manifest named by a revision link once, in digest order (locality in blobs/). */
  private manifests(): void {
    const digests = [...this.revisionDigests].sort();
    this.revisionDigests.clear();
    for (const digest of digests) {
      const abs = `${this.v2}/${pathFor({ kind: 'blobData', digest })}`;
      const rec: ManifestRecord = { digest, mediaType: null, schemaVersion: null, size: 0, problem: null, refs: [] };
      try {
        const f = readFileBounded(abs, MANIFEST_MAX_BYTES);
        rec.size = f.size;
        if (!f.buf) rec.problem = 'too-large';
        else {
          const parsed = parseManifest(f.buf.toString('utf8'));
          if (parsed.ok) {
            rec.mediaType = parsed.mediaType;
            rec.schemaVersion = parsed.schemaVersion;
            rec.refs = parsed.refs;
          } else rec.problem = parsed.problem;
        }
      } catch (err) {
        rec.problem = errnoCode(err) === 'ENOENT' ? 'missing' : 'unreadable';
      }
      this.sink.manifest(rec);
    }
  }
}
