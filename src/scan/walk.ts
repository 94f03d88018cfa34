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
import { initialTasks, type WalkContext, type WalkTask } from './tasks.js';

export interface WalkProgress {
  files: number;
  dirs: number;
  repositories: number;
  phase: 'repositories' | 'blobs' | 'manifests';
}

/** Wraps the real sink: counts progress. */
export class CollectingSink implements ScanSink {
  readonly progress: WalkProgress = { files: 0, dirs: 0, repositories: 0, phase: 'repositories' };
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
}

/**
 * A full walk: repositories and blobs, then every manifest a revision link names, read once however
 * many repositories link it: `revisions` gives their digests a page at a time once the links are
 * written (index/scans.ts revisionDigestPages).
 */
export async function runWalk(
  ctx: WalkContext,
  sink: CollectingSink,
  runner: TaskRunner,
  revisions: () => Iterable<Digest[]>,
  phase?: (name: string) => void,
): Promise<void> {
  sink.progress.phase = 'repositories';
  await runner.drain(initialTasks(ctx, sink), sink, { onStart: sink.taskStarting });
  phase?.('walk');
  sink.progress.phase = 'manifests';
  const tasks = function* (): Generator<WalkTask> {
    for (const digests of revisions()) yield { kind: 'manifests', digests };
  };
  await runner.drain(tasks(), sink);
  phase?.('manifests');
}
