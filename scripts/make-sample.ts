/**
 * Builds fixtures/sample-storage.tar.gz: a small filesystem storage root WRITTEN BY THE REAL REGISTRY
 * (docker-registry 2.8, over loopback) that reproduces the "deleted all images, still in _catalog" problem
 * next to repositories that must survive a prune. Also writes fixtures/sample-storage.md describing it.
 *
 *   npx tsx scripts/make-sample.ts [--out fixtures/sample-storage.tar.gz] [--keep DIR]
 *
 * Needs docker-registry and skopeo (Debian: apt-get install docker-registry skopeo).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, cpSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  catalog,
  deleteTag,
  garbageCollect,
  pushBlobOnly,
  pushImage,
  pushIndex,
  requireRegistryTools,
  startRegistry,
  startUpload,
  tagsList,
} from '../test/helpers/registry.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const out = path.resolve(arg('--out') ?? path.join(repoRoot, 'fixtures', 'sample-storage.tar.gz'));
const mdOut = out.replace(/\.tar\.gz$/, '') + '.md';
const keep = arg('--keep');

function tree(dir: string, rel = ''): string[] {
  const lines: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      lines.push(`${r}/`);
      lines.push(...tree(dir, r));
    } else lines.push(r);
  }
  return lines;
}

const short = (d: string) => d.slice(7, 19);

async function main(): Promise<void> {
  const tools = requireRegistryTools();
  if (tools.skip) throw new Error(tools.skip);
  const work = mkdtempSync(path.join(os.tmpdir(), 'regaudit-sample-'));
  const root = path.join(work, 'root');
  const notes: string[] = [];
  const builtAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  try {
    // ---- phase 1: pushes and API deletes ---------------------------------------------------------------
    let reg = await startRegistry(root);
    try {
      // seed case: every image of `myimage` deleted via the API
      await pushImage(reg, 'myimage', 'mytag', { layers: ['myimage base', 'myimage app 1'] });
      await pushImage(reg, 'myimage', 'old', { layers: ['myimage base', 'myimage app 0'] });
      await deleteTag(reg, 'myimage', 'mytag');
      await deleteTag(reg, 'myimage', 'old');

      // parent emptied while the nested child lives (they share a base layer)
      await pushImage(reg, 'org/team', 'v1', { layers: ['shared base', 'team tools'] });
      await deleteTag(reg, 'org/team', 'v1');
      const app1 = await pushImage(reg, 'org/team/app', 'v1', { layers: ['shared base', 'team app 1'] });
      const app2 = await pushImage(reg, 'org/team/app', 'v2', { layers: ['shared base', 'team app 2'] });

      // two tags, one deleted
      const a318 = await pushImage(reg, 'library/alpine', '3.18', { layers: ['alpine 3.18 rootfs'] });
      const a319 = await pushImage(reg, 'library/alpine', '3.19', { layers: ['alpine 3.19 rootfs'] });
      await deleteTag(reg, 'library/alpine', '3.18');

      // tag moved to new content: the old revision stays as an untagged revision
      const b1 = await pushImage(reg, 'tools/builder', 'latest', { layers: ['shared base', 'builder 1'] });
      const b2 = await pushImage(reg, 'tools/builder', 'latest', { layers: ['shared base', 'builder 2'] });

      // deep name using every separator of the grammar
      const deep = await pushImage(reg, 'a.b/c_d/e__f/g-h', '1.0', { layers: ['deep name layer'] }, { format: 'oci' });

      // multi-arch OCI index; its two children are untagged revisions referenced by the tagged index
      const idx = await pushIndex(reg, 'platform/multi', 'latest', [
        { layers: ['multi amd64'] },
        { layers: ['multi arm64'] },
      ]);

      notes.push(
        `| \`myimage\` | pushed \`mytag\` and \`old\`, both deleted via \`DELETE /v2/myimage/manifests/<digest>\`, then GC | **empty**: only \`_layers\` links (dangling after GC), empty revision dirs, empty \`tags/\`. Still listed by \`/v2/_catalog\` (the seed problem). | delete |`,
        `| \`org\` | — | namespace directory only, not a repository | — |`,
        `| \`org/team\` | pushed \`v1\`, deleted, GC | **empty**, but its directory holds the live nested repo \`app/\` | delete \`_layers\`/\`_manifests\`/\`_uploads\` only; \`org/team/app\` must survive |`,
        `| \`org/team/app\` | \`v1\` (${short(app1.digest)}), \`v2\` (${short(app2.digest)}); shares its base layer with \`org/team\` and \`tools/builder\` | active | keep |`,
        `| \`library/alpine\` | \`3.18\` (${short(a318.digest)}) deleted, \`3.19\` (${short(a319.digest)}) kept | active; the 3.18 layer's \`_layers\` link dangles after GC | keep |`,
        `| \`tools/builder\` | \`latest\` pushed (${short(b1.digest)}) then re-pushed with new content (${short(b2.digest)}) | active; the old revision stays as an untagged revision (GC ran without \`-m\`), tag index keeps both | keep |`,
        `| \`a.b/c_d/e__f/g-h\` | \`1.0\` (${short(deep.digest)}, OCI manifest) | active; name uses \`.\`, \`_\`, \`__\`, \`-\` | keep |`,
        `| \`platform/multi\` | \`latest\` = OCI index ${short(idx.digest)} with children ${idx.children.map((c) => `${c.platform.architecture} ${short(c.digest)}`).join(', ')} | active; children are untagged revisions referenced by the index | keep |`,
      );
    } finally {
      await reg.stop();
    }

    // ---- phase 2: offline GC, registry stopped ------------------------------------------------------------
    const gc = garbageCollect(reg);
    if (gc.code !== 0) throw new Error(`garbage-collect failed (${gc.code}):\n${gc.stderr}\n${gc.stdout}`);
    const gcSummary = gc.stdout.split('\n').find((l) => /blobs marked/.test(l)) ?? '';

    // ---- phase 3: activity after the GC (a push in progress) ----------------------------------------------
    reg = await startRegistry(root);
    let cat: string[];
    const tags: Record<string, string[] | undefined> = {};
    try {
      await pushBlobOnly(reg, 'incoming', 'incoming layer, manifest not pushed yet');
      await startUpload(reg, 'uploads/pending', 'first bytes of an unfinished upload');
      notes.push(
        `| \`incoming\` | after the GC: one blob uploaded and committed (\`_layers\` link + blob data), no manifest yet | looks **empty** but is a push in progress; fresh mtimes | skip (\`recent-activity\`) only while younger than \`--min-age\` (default 1h); then delete |`,
        `| \`uploads/pending\` | after the GC: \`POST\` + \`PATCH\` of an upload that is never finished | only \`_uploads/<uuid>/{data,startedat,hashstates}\`; no \`_layers\`/\`_manifests\`, so neither v2 nor v3 \`_catalog\` lists it | skip (\`upload-in-progress\`) while the upload is younger than \`--upload-age\` (default 168h) |`,
      );
      cat = await catalog(reg);
      for (const r of cat) tags[r] = await tagsList(reg, r);
    } finally {
      await reg.stop();
    }

    // ---- archive -----------------------------------------------------------------------------------------
    mkdirSync(path.dirname(out), { recursive: true });
    const tar = spawnSync(
      'tar',
      ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', out, '-C', root, 'docker'],
      { encoding: 'utf8' },
    );
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const size = statSync(out).size;
    if (size > 200 * 1024) throw new Error(`sample archive too big: ${size} bytes`);

    const v2 = path.join(root, 'docker', 'registry', 'v2');
    const blobCount = tree(path.join(v2, 'blobs')).filter((l) => l.endsWith('/data')).length;
    const md = [
      '# Sample storage (`fixtures/sample-storage.tar.gz`)',
      '',
      'A filesystem storage root written by the real registry (`docker-registry` 2.8.2, Debian 12 package, filesystem',
      'driver, `storage.delete.enabled: true`, no blob-descriptor cache), produced by `npx tsx scripts/make-sample.ts`.',
      'Images were built by hand (tiny gzip tar layers) and pushed with `skopeo copy`; deletes went through the',
      'registry API (`HEAD` tag → `Docker-Content-Digest` → `DELETE /v2/<name>/manifests/<digest>`); then the registry',
      'was stopped and `docker-registry garbage-collect` ran (without `--delete-untagged`); then the registry was',
      'started again for a push in progress and an unfinished upload.',
      '',
      'The archive root is `docker/registry/v2/...`: extract it into an empty directory and use that directory as',
      'the storage root (`tar xzf fixtures/sample-storage.tar.gz -C DIR`, then `regaudit report DIR`). Empty',
      'directories are kept (they matter: an empty `_layers/` or `_manifests/` keeps a repo in `_catalog`).',
      '',
      '`npm run demo` does exactly that in a temp dir and prints `report` and a dry-run `prune`.',
      '',
      '## Repositories',
      '',
      '| repository | history | what the registry left | expected prune |',
      '|---|---|---|---|',
      ...notes,
      '',
      `GC: \`${gcSummary.trim()}\`. Blob data files in the archive: ${blobCount}.`,
      '',
      '`GET /v2/_catalog` of the registry (2.8: lists every directory with a `_layers` child, in its walk order):',
      '',
      '```',
      JSON.stringify(cat),
      '```',
      '',
      'Tags per listed repository (`/v2/<name>/tags/list`; 2.8 answers `"tags": null` for an emptied repo, shown as []):',
      '',
      '```',
      ...cat.map(
        (r) => `${r}: ${tags[r] === undefined ? '404 NAME_UNKNOWN (no _manifests/tags)' : JSON.stringify(tags[r])}`,
      ),
      '```',
      '',
      '## Timestamps: `--min-age` and `--upload-age`',
      '',
      `File mtimes are the real times of the run that built the archive (${builtAt}), and \`tar\` restores them on`,
      'extraction by default, so what a dry-run `prune` plans depends on how old the archive is:',
      '',
      '- within 1 hour of the build (`--min-age`, default `1h`): every empty repository is skipped as `recent-activity`;',
      '- after that: `myimage`, `org/team` and `incoming` are planned for deletion (a "push in progress" that has not',
      '  moved for over an hour is indistinguishable from garbage), `uploads/pending` is skipped as `upload-in-progress`;',
      "- 7 days after the build (`--upload-age`, default `168h`, the registry's own upload purge age) the upload counts as",
      '  abandoned and `uploads/pending` is planned for deletion too.',
      '',
      'Pass `--min-age 0s` to see the plan regardless of age. The tests that use the sample only assert what does not',
      'depend on the clock; the time-sensitive cases are covered by tests on storage the registry writes at test time.',
      '',
      '## Tree (`docker/registry/v2/repositories`, blobs omitted)',
      '',
      '```',
      ...tree(path.join(v2, 'repositories')),
      '```',
      '',
    ].join('\n');
    writeFileSync(mdOut, md);
    if (keep) cpSync(root, path.resolve(keep), { recursive: true, preserveTimestamps: true });
    process.stdout.write(
      `wrote ${path.relative(process.cwd(), out)} (${size} bytes) and ${path.relative(process.cwd(), mdOut)}\n`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
