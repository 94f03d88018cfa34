/**
 * The full walk: the sink wrapper that counts progress and collects the manifests to read, and
 * runWalk, which drives the runner through the repositories-and-blobs phase and the manifests phase.
 */
import type { Digest } from '../layout/digest.js';
import type {
  BlobFanRecord,
  BlobRecord,
  DebrisRecord,
  ManifestRecord,
  RepositorySnapshot,
  ScanSink,
} from '../index/records.js';
import type { TaskRunner } from './runners.js';
import { initialTasks, manifestTasksFor, type WalkContext, type WalkTask } from './tasks.js';

export interface WalkProgress {
  files: number;
  dirs: number;
  repositories: number;
  phase: 'repositories' | 'blobs' | 'manifests';
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

  /** A runner is about to run `task`: the blob phase begins with the first fan-out directory. */
  readonly taskStarting = (task: WalkTask): void => {
    if (task.kind === 'blobFan') this.progress.phase = 'blobs';
  };

  /** The manifests phase, in digest order (locality in blobs/), in batches. */
  manifestTasks(): WalkTask[] {
    const digests = [...this.revisionDigests].sort();
    this.revisionDigests.clear();
    return manifestTasksFor(digests);
  }
}

/** A full walk: repositories and blobs, then every manifest a revision link names. */
export async function runWalk(
  ctx: WalkContext,
  sink: CollectingSink,
  runner: TaskRunner,
  phase?: (name: string) => void,
): Promise<void> {
  sink.progress.phase = 'repositories';
  await runner.drain(initialTasks(ctx, sink), sink, { onStart: sink.taskStarting });
  phase?.('walk');
  sink.progress.phase = 'manifests';
  await runner.drain(sink.manifestTasks(), sink);
  phase?.('manifests');
}
