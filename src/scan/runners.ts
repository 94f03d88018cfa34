/** Runners of walk tasks: the interface, and the one without workers (the worker pool is scan/parallel.ts). */
import type { ScanSink } from '../index/records.js';
import { runTask, type TaskResult, type WalkContext, type WalkTask } from './tasks.js';

/** What a runner reports as it goes, besides the records it puts into the sink. */
export interface DrainHooks {
  /** A task is about to run (progress: which phase the walk is in). */
  onStart?: (task: WalkTask) => void;
  /** A task finished (its uncovered children are queued by the runner itself). */
  onResult?: (r: TaskResult) => void;
}

/** Runs walk tasks, and the tasks they uncover, until none remain (in this thread or on workers). */
export interface TaskRunner {
  /** `tasks` is pulled lazily, one when a runner is free, so a generator keeps memory flat. */
  drain(tasks: Iterable<WalkTask>, sink: ScanSink, hooks?: DrainHooks): Promise<void>;
  close(): Promise<void>;
}

/** The runner without workers (--jobs 0). */
export class InlineRunner implements TaskRunner {
  constructor(private readonly ctx: WalkContext) {}

  // eslint-disable-next-line @typescript-eslint/require-await -- async for the interface; the inline walk is synchronous
  async drain(tasks: Iterable<WalkTask>, sink: ScanSink, hooks: DrainHooks = {}): Promise<void> {
    const source = tasks[Symbol.iterator]();
    const queue: WalkTask[] = [];
    const next = (): WalkTask | undefined => queue.pop() ?? (source.next().value as WalkTask | undefined);
    for (let task = next(); task; task = next()) {
      hooks.onStart?.(task);
      const r = runTask(this.ctx, task, sink);
      hooks.onResult?.(r);
      for (let i = r.children.length - 1; i >= 0; i--) queue.push(r.children[i]!);
    }
    sink.flush?.();
  }

  async close(): Promise<void> {}
}
