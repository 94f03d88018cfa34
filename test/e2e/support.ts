/**
 * Shared pieces of the real-registry end-to-end tests: the CLI's JSON contract, a full tree snapshot
 * (dirs included, with mtimes) to prove a dry run touched nothing, and thin CLI wrappers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, runCliJson } from '../helpers/cli.js';
import { startRegistry } from '../helpers/registry.js';
import type { Registry } from '../helpers/registry.js';
import type { Finding, PruneJson, PruneRepo, ReportJson, ReportRepo } from '../helpers/json.js';

/**
 * A temp dir holding a storage root and an index db, and at most one registry serving that root.
 * `restart()` stops the current registry (if any) and starts a fresh process; `stop()` before running
 * regaudit or GC; `dispose()` in `after()`.
 */
export interface Workspace {
  root: string;
  db: string;
  restart(): Promise<Registry>;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export function workspace(): Workspace {
  const work = mkdtempSync(path.join(os.tmpdir(), 'regaudit-e2e-'));
  let reg: Registry | undefined;
  const stop = async () => {
    await reg?.stop();
    reg = undefined;
  };
  const ws: Workspace = {
    root: path.join(work, 'storage'),
    db: path.join(work, 'regaudit.db'),
    async restart() {
      await stop();
      reg = await startRegistry(ws.root);
      return reg;
    },
    stop,
    async dispose() {
      await stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return ws;
}

export type { Finding, PruneJson, PruneRepo, ReportJson, ReportRepo, RepoState } from '../helpers/json.js';

function explain(args: string[], code: number, stderr: string): string {
  return `regaudit ${args.join(' ')} exited ${code}\n${stderr.slice(0, 3000)}`;
}

/** `regaudit report <root> --db <db> --format json` (scans first). */
export function report(root: string, db: string, extra: string[] = []): ReportJson {
  const args = ['report', root, '--db', db, '--format', 'json', ...extra];
  const r = runCliJson<ReportJson>(args);
  assert.ok(Array.isArray(r.json.repositories), explain(args, r.code, r.stderr));
  assert.ok(Array.isArray(r.json.findings), explain(args, r.code, r.stderr));
  return r.json;
}

/** `regaudit prune <root> --db <db> --format json [...extra]`; must exit 0. */
export function prune(root: string, db: string, extra: string[] = []): PruneJson {
  const args = ['prune', root, '--db', db, '--format', 'json', ...extra];
  const r = runCliJson<PruneJson>(args);
  assert.equal(r.code, 0, explain(args, r.code, r.stderr));
  assert.ok(Array.isArray(r.json.repositories), explain(args, r.code, r.stderr));
  return r.json;
}

/** Runs the CLI with a non-JSON format and returns stdout; must exit 0. */
export function cliText(args: string[]): string {
  const r = runCli(args);
  assert.equal(r.code, 0, explain(args, r.code, r.stderr));
  return r.stdout;
}

export function repoOf(rep: ReportJson, name: string): ReportRepo {
  const r = rep.repositories.find((x) => x.name === name);
  assert.ok(r, `report has no repository ${name}; has ${rep.repositories.map((x) => x.name).join(', ')}`);
  return r;
}

export function planOf(plan: PruneJson, name: string): PruneRepo | undefined {
  return plan.repositories.find((x) => x.name === name);
}

export function deletes(plan: PruneJson): string[] {
  return plan.repositories
    .filter((r) => r.action === 'delete')
    .map((r) => r.name)
    .sort();
}

export function findingsFor(rep: ReportJson, name: string): Finding[] {
  return rep.findings.filter((f) => f.repository === name);
}

/**
 * Full recursive listing of `root`: every dir (with mtime) and file (size, mtime, sha256 of content);
 * symlinks by target. Used to prove read-only commands change nothing, not even a directory mtime.
 */
export function snapshotTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      out.set(rel + '/', `dir mtime=${st.mtimeMs} mode=${st.mode}`);
      for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    } else if (st.isFile()) {
      const h = createHash('sha256').update(readFileSync(abs)).digest('hex');
      out.set(rel, `file size=${st.size} mtime=${st.mtimeMs} mode=${st.mode} sha256=${h}`);
    } else {
      out.set(rel, `other mode=${st.mode} mtime=${st.mtimeMs}`);
    }
  };
  walk('');
  return out;
}

/** Human-readable differences between two snapshots (empty = identical). */
export function diffTrees(a: Map<string, string>, b: Map<string, string>): string[] {
  const d: string[] = [];
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined) d.push(`- ${k} (${v})`);
    else if (w !== v) d.push(`~ ${k}: ${v} -> ${w}`);
  }
  for (const [k, v] of b) if (!a.has(k)) d.push(`+ ${k} (${v})`);
  return d;
}

/** Keys of a snapshot below `rel` (a path relative to the snapshot root). */
export function pathsUnder(snap: Map<string, string>, rel: string): string[] {
  return [...snap.keys()].filter((k) => k.startsWith(rel + '/'));
}

export const REPOS_REL = 'docker/registry/v2/repositories';
/** `--apply` takes a lock file in here (and removes it), so this one directory's mtime may change. */
const LOCK_DIR = 'docker/registry/v2/';

/**
 * Asserts that `after` is `before` minus exactly what pruning `pruned` may remove: each repo's own `_layers`,
 * `_manifests`, `_uploads`, then parent dirs that became empty (never `repositories/` itself, never a non-empty
 * one). Everything else, nested repos and blobs included, must be byte- and mtime-identical (except the mtime
 * of `docker/registry/v2/`, where apply takes its lock file); nothing is added, no lock file is left behind.
 */
export function assertOnlyPruned(before: Map<string, string>, after: Map<string, string>, pruned: string[]): void {
  const own = pruned.flatMap((r) => ['_layers', '_manifests', '_uploads'].map((m) => `${REPOS_REL}/${r}/${m}/`));
  const ancestors = new Set<string>();
  for (const r of pruned) {
    const segs = r.split('/');
    for (let i = 0; i <= segs.length; i++) ancestors.add(`${[REPOS_REL, ...segs.slice(0, i)].join('/')}/`);
  }
  const problems: string[] = [];
  for (const [k, v] of before) {
    const w = after.get(k);
    if (own.some((p) => k.startsWith(p))) {
      if (w !== undefined) problems.push(`not removed: ${k}`);
    } else if (ancestors.has(k)) {
      const children = [...after.keys()].filter((x) => x !== k && x.startsWith(k));
      if (w === undefined) {
        if (k === `${REPOS_REL}/`) problems.push('repositories/ itself was removed');
        if (children.length > 0) problems.push(`removed although not empty: ${k}`);
      } else if (k !== `${REPOS_REL}/` && children.length === 0) {
        problems.push(`left empty: ${k}`);
      }
    } else if (w === undefined) {
      problems.push(`removed: ${k}`);
    } else if (w !== v && !(k === LOCK_DIR && w.startsWith('dir '))) {
      problems.push(`changed: ${k}: ${v} -> ${w}`);
    }
  }
  for (const k of after.keys()) if (!before.has(k)) problems.push(`added: ${k}`);
  assert.deepEqual(problems, [], `prune touched more (or less) than ${pruned.join(', ')}`);
}
