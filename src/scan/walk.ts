/**
 * The layout-aware walk of docker/registry/v2: it reads the fixed directories directly with
 * dirent types instead of globbing (measured several times faster than a generic walk on this
 * layout), never follows a symbolic link, and streams what it finds into a sink.
 *
 * The walk is cut into independent tasks (a directory under repositories/, a blob fan-out
 * directory, a batch of manifests) so that worker threads can run them in parallel
 * (scan/parallel.ts) or run them in this thread (InlineRunner).
 */
import { digestOf, type Digest } from '../layout/digest.js';
import { MANIFEST_MAX_BYTES, parseManifest, type ManifestRef } from '../layout/manifest.js';
import { BLOBS, REPOSITORIES, REPOSITORY_PARTS, pathFor, type RepositoryPart } from '../layout/paths.js';
import { describeFsError, errnoCode } from '../errors.js';
import type { DirEntry, EntryStat, StorageReader } from '../storage/driver.js';
import { readRepository } from './read-repository.js';
import type { DebrisRecord, RepositorySnapshot } from './records.js';
import { derivedFanPaths, makeStamp, stampStillValid, type StatEntry } from './stamp.js';

/** What every task reads through: the storage, its docker/registry/v2 path, and the scan mode. */
export interface WalkContext {
  storage: StorageReader;
  v2: string;
  /** List every digest directory instead of opening `link`/`data` by name. */
  thorough: boolean;
}

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

/** The stamp of one blobs/<alg>/<xx> directory (scan/stamp.ts). */
export interface BlobFanRecord {
  alg: string;
  fan: string;
  stamp: string;
  extra: string[];
}

/** Where the walk puts what it finds (the index writer, or a test's arrays). */
export interface ScanSink {
  repository(snap: RepositorySnapshot): void;
  blob(b: BlobRecord): void;
  blobFan(f: BlobFanRecord): void;
  manifest(m: ManifestRecord): void;
  debris(d: DebrisRecord): void;
  /** Makes everything received so far visible (the index writer batches rows); runners call it when a drain ends. */
  flush?(): void;
}

export interface WalkProgress {
  files: number;
  dirs: number;
  repositories: number;
  phase: 'repositories' | 'blobs' | 'manifests';
}

/** Name of the in-repository staging directory prune renames parts into before removing them. */
export const TRASH_DIR = '_regaudit_trash';

/** One stamp to re-check (scan/stamp.ts): `key` comes back in `changed` when it no longer matches. */
export interface VerifyItem {
  key: string;
  base: string;
  paths: string[];
  stamp: string;
}

export type WalkTask =
  | { kind: 'namespace'; name: string }
  | { kind: 'repository'; name: string; parts: Array<[RepositoryPart, string]> }
  | { kind: 'blobFan'; alg: string; fan: string }
  | { kind: 'manifests'; digests: Digest[] }
  | { kind: 'verify'; items: VerifyItem[] };

export interface TaskResult {
  /** Tasks the task uncovered (child directories). */
  children: WalkTask[];
  /** Keys of verify items whose stamp no longer matches. */
  changed: string[];
}

function list(storage: StorageReader, abs: string, rel: string, sink: ScanSink): DirEntry[] | null {
  try {
    return storage.list(abs);
  } catch (err) {
    // A missing repositories/ or blobs/ is an empty store (registry GC treats it so), not debris.
    if (errnoCode(err) === 'ENOENT' && (rel === REPOSITORIES || rel === BLOBS)) return null;
    sink.debris({ path: rel, kind: 'unreadable', detail: describeFsError(err) });
    return null;
  }
}

function stray(sink: ScanSink, rel: string, name: string, type?: string): void {
  if (type === 'symlink')
    sink.debris({ path: rel, kind: 'symlink', detail: 'symbolic link under blobs/ (not followed)' });
  else if (name.endsWith('.tmp'))
    sink.debris({ path: rel, kind: 'tmp-file', detail: 'temporary file left by an interrupted write' });
  else sink.debris({ path: rel, kind: 'unrecognized', detail: 'not part of the blob layout' });
}

/** The first tasks: repositories/ itself, and one per blob fan-out directory. */
export function initialTasks(ctx: WalkContext, sink: ScanSink): WalkTask[] {
  const { storage, v2 } = ctx;
  const tasks: WalkTask[] = [{ kind: 'namespace', name: '' }];
  const algs = list(storage, `${v2}/${BLOBS}`, BLOBS, sink);
  for (const a of algs ?? []) {
    const aRel = `${BLOBS}/${a.name}`;
    if (a.type !== 'dir') {
      stray(sink, aRel, a.name);
      continue;
    }
    for (const f of list(storage, `${v2}/${aRel}`, aRel, sink) ?? []) {
      const fRel = `${aRel}/${f.name}`;
      if (f.type !== 'dir') stray(sink, fRel, f.name);
      else tasks.push({ kind: 'blobFan', alg: a.name, fan: f.name });
    }
  }
  return tasks;
}

const NOTHING: TaskResult = { children: [], changed: [] };

/** Runs one task into `sink`. */
export function runTask(ctx: WalkContext, task: WalkTask, sink: ScanSink): TaskResult {
  switch (task.kind) {
    case 'namespace':
      return { children: namespace(ctx, task.name, sink), changed: [] };
    case 'repository': {
      const rel = `${REPOSITORIES}/${task.name}`;
      sink.repository(readRepository(ctx.storage, `${ctx.v2}/${rel}`, task.name, new Map(task.parts), ctx.thorough));
      return NOTHING;
    }
    case 'blobFan':
      blobFan(ctx, task.alg, task.fan, sink);
      return NOTHING;
    case 'manifests':
      for (const d of task.digests) sink.manifest(readManifest(ctx, d));
      return NOTHING;
    case 'verify':
      return {
        children: [],
        changed: task.items
          .filter((i) => !stampStillValid(ctx.storage, i.base, i.paths, [], i.stamp))
          .map((i) => i.key),
      };
    default: {
      const never: never = task;
      throw new Error(`unknown task ${JSON.stringify(never)}`);
    }
  }
}

/** Reads a repository found by the walk; null means "unchanged since the last scan, keep it". */
export type RepositoryReader = (
  abs: string,
  name: string,
  parts: ReadonlyMap<RepositoryPart, string>,
) => RepositorySnapshot | null;

/** A directory under repositories/: a repository, a namespace, or both. */
export function namespace(
  ctx: WalkContext,
  name: string,
  sink: ScanSink,
  reader: RepositoryReader = (abs, n, parts) => readRepository(ctx.storage, abs, n, parts, ctx.thorough),
): WalkTask[] {
  const rel = name === '' ? REPOSITORIES : `${REPOSITORIES}/${name}`;
  const abs = `${ctx.v2}/${rel}`;
  const entries = list(ctx.storage, abs, rel, sink);
  if (!entries) return [];
  const parts = new Map<RepositoryPart, string>();
  for (const e of entries) {
    if ((REPOSITORY_PARTS as readonly string[]).includes(e.name)) parts.set(e.name as RepositoryPart, e.type);
  }
  if (name !== '' && parts.size > 0) {
    const snap = reader(abs, name, parts);
    if (snap) sink.repository(snap);
  }
  if (entries.length === 0 && name !== '')
    sink.debris({ path: rel, kind: 'empty-directory', detail: 'empty directory under repositories/' });
  const children: WalkTask[] = [];
  for (const e of entries) {
    const childRel = `${rel}/${e.name}`;
    if (e.name.startsWith('_')) {
      if (parts.has(e.name as RepositoryPart)) continue;
      if (e.name === TRASH_DIR)
        sink.debris({
          path: childRel,
          kind: 'pending-deletion',
          detail: 'left by an interrupted prune; prune finishes it',
        });
      else
        sink.debris({
          path: childRel,
          kind: 'unknown-directory',
          detail: 'unknown _-prefixed entry (the registry skips it)',
        });
      continue;
    }
    const type = e.type;
    if (type === 'dir') children.push({ kind: 'namespace', name: name === '' ? e.name : `${name}/${e.name}` });
    else if (type === 'symlink')
      sink.debris({ path: childRel, kind: 'symlink', detail: 'symbolic link under repositories/ (not followed)' });
    else if (e.name.endsWith('.tmp'))
      sink.debris({ path: childRel, kind: 'tmp-file', detail: 'temporary file left by an interrupted write' });
    else sink.debris({ path: childRel, kind: 'stray-file', detail: `${type} under repositories/` });
  }
  return children;
}

/**
 * blobs/<alg>/<xx>/<hex>/data for one fan-out directory. Outside thorough mode `data` is stat'ed by
 * name, as the registry reaches it; a digest directory without a regular `data` file is listed to
 * say what it holds instead.
 */
export function blobFan(ctx: WalkContext, alg: string, fan: string, sink: ScanSink): void {
  const { storage, v2, thorough } = ctx;
  const fRel = `${BLOBS}/${alg}/${fan}`;
  const statted: StatEntry[] = [];
  const digests: string[] = [];
  const note = (rel: string, st: EntryStat): EntryStat => {
    statted.push({ rel, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size });
    return st;
  };
  const stat = (rel: string): EntryStat => note(rel, storage.lstat(`${v2}/${fRel}/${rel}`));
  const found = (digest: Digest, data: EntryStat): void => {
    sink.blob({ digest, size: data.size, mtimeMs: Math.trunc(data.mtimeMs) });
    digests.push(digest);
  };
  let hexes: DirEntry[] | null = null;
  try {
    stat('.');
    hexes = list(storage, `${v2}/${fRel}`, fRel, sink);
  } catch (err) {
    sink.debris({ path: fRel, kind: 'unreadable', detail: describeFsError(err) });
  }
  for (const h of hexes ?? []) {
    const hRel = `${fRel}/${h.name}`;
    const hAbs = `${v2}/${hRel}`;
    const digest = digestOf(alg, h.name);
    if (!digest || h.name.slice(0, 2) !== fan || h.type !== 'dir') {
      stray(sink, hRel, h.name);
      continue;
    }
    if (!thorough) {
      let st: EntryStat | undefined;
      try {
        st = storage.lstat(`${hAbs}/data`);
      } catch {
        // missing or unreadable: the listing below says which
      }
      if (st?.type === 'file') {
        found(digest, note(`${h.name}/data`, st));
        continue;
      }
    }
    let files: DirEntry[] | null = null;
    try {
      files = storage.list(hAbs);
      // Stat'ed only without its data file, whose own stat stands for it (see makeStamp).
      if (!files.some((f) => f.name === 'data' && f.type === 'file')) stat(h.name);
    } catch (err) {
      sink.debris({ path: hRel, kind: 'unreadable', detail: describeFsError(err) });
    }
    for (const file of files ?? []) {
      const dRel = `${hRel}/${file.name}`;
      const type = file.type;
      if (file.name !== 'data' || type !== 'file') {
        stray(sink, dRel, file.name, type);
        continue;
      }
      try {
        found(digest, stat(`${h.name}/data`));
      } catch (err) {
        sink.debris({ path: dRel, kind: 'unreadable', detail: describeFsError(err) });
      }
    }
  }
  sink.blobFan({ alg, fan, ...makeStamp(statted, derivedFanPaths(digests)) });
}

/** Reads and parses one manifest blob; a missing, huge or malformed one is a record, not an error. */
export function readManifest(ctx: WalkContext, digest: Digest): ManifestRecord {
  const rec: ManifestRecord = { digest, mediaType: null, schemaVersion: null, size: 0, problem: null, refs: [] };
  try {
    const f = ctx.storage.readBounded(`${ctx.v2}/${pathFor({ kind: 'blobData', digest })}`, MANIFEST_MAX_BYTES);
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
  return rec;
}

/**
 * Wraps the real sink: counts progress and remembers every revision digest, so the manifests
 * phase reads each manifest once however many repositories link it.
 */
export class CollectingSink implements ScanSink {
  readonly progress: WalkProgress = { files: 0, dirs: 0, repositories: 0, phase: 'repositories' };
  readonly revisionDigests = new Set<Digest>();
  private lastReport = 0;

  constructor(
    private readonly inner: ScanSink,
    private readonly onProgress?: (p: WalkProgress) => void,
  ) {}

  private tick(files: number, dirs: number): void {
    this.progress.files += files;
    this.progress.dirs += dirs;
    if (this.onProgress && this.progress.files - this.lastReport >= 5000) {
      this.lastReport = this.progress.files;
      this.onProgress(this.progress);
    }
  }

  repository(s: RepositorySnapshot): void {
    this.progress.repositories++;
    for (const l of s.links) if (l.kind === 'revision' && l.digest) this.revisionDigests.add(l.digest);
    this.tick(s.links.length + s.uploads.length, Math.max(0, s.entries - s.links.length));
    this.inner.repository(s);
  }

  blob(b: BlobRecord): void {
    this.tick(1, 1);
    this.inner.blob(b);
  }

  blobFan(f: BlobFanRecord): void {
    this.inner.blobFan(f);
  }

  manifest(m: ManifestRecord): void {
    this.inner.manifest(m);
  }

  debris(d: DebrisRecord): void {
    this.inner.debris(d);
  }

  flush(): void {
    this.inner.flush?.();
  }

  /** The manifests phase, in digest order (locality in blobs/), in batches. */
  manifestTasks(): WalkTask[] {
    const digests = [...this.revisionDigests].sort();
    this.revisionDigests.clear();
    return manifestTasksFor(digests);
  }
}

/** Runs walk tasks, and the tasks they uncover, until none remain (in this thread or on workers). */
export interface TaskRunner {
  /** `tasks` is pulled lazily, one when a runner is free, so a generator keeps memory flat. */
  drain(tasks: Iterable<WalkTask>, sink: ScanSink, onResult?: (r: TaskResult) => void): Promise<void>;
  close(): Promise<void>;
}

/** The runner without workers (--jobs 0). */
export class InlineRunner implements TaskRunner {
  constructor(private readonly ctx: WalkContext) {}

  // eslint-disable-next-line @typescript-eslint/require-await -- async for the interface; the inline walk is synchronous
  async drain(tasks: Iterable<WalkTask>, sink: ScanSink, onResult?: (r: TaskResult) => void): Promise<void> {
    const source = tasks[Symbol.iterator]();
    const queue: WalkTask[] = [];
    const next = (): WalkTask | undefined => queue.pop() ?? (source.next().value as WalkTask | undefined);
    for (let task = next(); task; task = next()) {
      if (task.kind === 'blobFan' && sink instanceof CollectingSink) sink.progress.phase = 'blobs';
      const r = runTask(this.ctx, task, sink);
      onResult?.(r);
      for (let i = r.children.length - 1; i >= 0; i--) queue.push(r.children[i]!);
    }
    sink.flush?.();
  }

  async close(): Promise<void> {}
}

/** Manifest reads in batches of 256 digests, in the order given. */
export function manifestTasksFor(digests: readonly Digest[]): WalkTask[] {
  const tasks: WalkTask[] = [];
  for (let i = 0; i < digests.length; i += 256) tasks.push({ kind: 'manifests', digests: digests.slice(i, i + 256) });
  return tasks;
}

/** A full walk: repositories and blobs, then every manifest a revision link names. */
export async function runWalk(
  ctx: WalkContext,
  sink: CollectingSink,
  runner: TaskRunner,
  phase?: (name: string) => void,
): Promise<void> {
  sink.progress.phase = 'repositories';
  await runner.drain(initialTasks(ctx, sink), sink);
  phase?.('walk');
  sink.progress.phase = 'manifests';
  await runner.drain(sink.manifestTasks(), sink);
  phase?.('manifests');
}
