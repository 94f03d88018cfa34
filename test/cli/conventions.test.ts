/**
 * The registry's own conventions: Go durations, --kind/--scenario comma lists that never swallow the
 * root, and --config read as `registry garbage-collect CONFIG` reads it (environment overrides included).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../../src/cli/options.js';
import { storageFromConfig } from '../../src/app/registry-config.js';
import { runCli, runCliJson } from '../helpers/cli.js';
import { StorageTree } from '../helpers/tree.js';

test('durations: the Go format (and days); anything else is one usage line', () => {
  const cases: Array<[string, number]> = [
    ['1h30m', 5_400_000],
    ['168h0m0s', 168 * 3_600_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['7d', 7 * 86_400_000],
  ];
  for (const [v, ms] of cases) assert.equal(parseDuration(v, '--min-age'), ms, v);
  for (const v of ['', '1', '90', '1 h', 'h', '-1h', '1hour', '1h-5m', '3 days', '1.h2'])
    assert.throws(() => parseDuration(v, '--min-age'), /^UsageError: --min-age ".*": not a duration \(Go format/, v);
});

function sample(t: { after(fn: () => void): void }): { s: StorageTree; db: string } {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  s.image('app', 'v1', ['app layer']);
  s.blob('orphan');
  s.dir('repositories/empty/_layers');
  return { s, db: path.join(s.root, 'i.db') };
}

test('CLI: --min-age "" and --min-age 1h30m; --kind before the root, comma lists, bad kinds', (t) => {
  const { s, db } = sample(t);
  const empty = runCli(['prune', s.root, '--db', db, '--min-age', '']);
  assert.equal(empty.code, 2);
  assert.equal(
    empty.stderr,
    'regaudit: --min-age "": not a duration (Go format, e.g. 0s, 90m, 1h30m, 168h0m0s; or days: 7d)\n',
  );
  assert.equal(runCli(['prune', s.root, '--db', db, '--min-age', '1h30m', '-q']).code, 0);
  assert.equal(runCli(['prune', s.root, '--db', db, '--min-age', '168h0m0s', '-q']).code, 0);

  const kinds = (args: string[]): string[] => {
    const r = runCliJson<{ findings: Array<{ kind: string }> }>([
      'report',
      ...args,
      '--db',
      db,
      '--format',
      'json',
      '-q',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return [...new Set(r.json.findings.map((f) => f.kind))].sort();
  };
  assert.deepEqual(kinds(['--kind', 'unreferenced-blob', s.root]), ['unreferenced-blob'], 'the root is not swallowed');
  assert.deepEqual(kinds(['--kind', 'unreferenced-blob,empty-repository', s.root]), [
    'empty-repository',
    'unreferenced-blob',
  ]);
  assert.deepEqual(kinds(['--kind', 'empty-repository', '--kind', 'unreferenced-blob']), [
    'empty-repository',
    'unreferenced-blob',
  ]);
  const bad = runCli(['report', '--kind', 'debris,nope', s.root, '--db', db]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^regaudit: --kind "nope": not one of .*debris/);
  assert.equal(bad.stderr.split('\n').length, 2, 'one line');

  const gc = runCliJson<{ scenarios: Array<{ id: string }> }>([
    'gc-preview',
    '--scenario',
    '2,3-m',
    s.root,
    '--db',
    db,
    '--format',
    'json',
    '-q',
  ]);
  assert.deepEqual(
    gc.json.scenarios.map((x) => x.id),
    ['2', '3-m'],
  );
});

test('--config: rootdirectory from the YAML, REGISTRY_STORAGE_* overrides, unsupported drivers named', (t) => {
  const { s, db } = sample(t);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'regaudit-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = path.join(dir, 'config.yml');
  writeFileSync(
    cfg,
    [
      'version: 0.1',
      'storage:',
      '  delete:',
      '    enabled: true',
      '  filesystem:',
      '    rootdirectory: /nowhere',
      '',
    ].join('\n'),
  );
  const env = { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: s.root };
  const r = runCliJson<{ repositories: string[] }>(['catalog', '--config', cfg, '--db', db, '--format', 'json', '-q'], {
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.repositories, ['app', 'empty']);
  // Without the override, the file's own rootdirectory is used (and does not exist): one line, nothing created.
  const db2 = path.join(dir, 'new.db');
  const missing = runCli(['scan', '--config', cfg, '--db', db2]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^regaudit: \/nowhere: no such file or directory\n$/);

  writeFileSync(path.join(dir, 'azure.yml'), 'version: 0.1\nstorage:\n  azure:\n    accountname: a\n');
  const azure = runCli(['report', '--config', path.join(dir, 'azure.yml'), '--db', db]);
  assert.equal(azure.code, 2);
  assert.match(
    azure.stderr,
    /^regaudit: .*azure\.yml: storage driver "azure" is not one regaudit reads \(it reads: filesystem, s3\)\n$/,
  );
  const both = runCli(['report', s.root, '--config', cfg, '--db', db]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give either <root> or --config, not both/);
  const noFile = runCli(['report', '--config', path.join(dir, 'absent.yml'), '--db', db]);
  assert.match(noFile.stderr, /^regaudit: --config .*absent\.yml: no such file or directory\n$/);
  assert.ok(!existsSync(path.join(dir, 'absent.yml')));
});

test('config parsing follows the registry: defaults, REGISTRY_STORAGE switch, two drivers refused', () => {
  const doc = { version: '0.1', storage: { filesystem: {}, delete: { enabled: true } } };
  assert.deepEqual(storageFromConfig(doc, {}, 'c.yml'), { driver: 'filesystem', root: '/var/lib/registry' });
  assert.deepEqual(
    storageFromConfig({ storage: 'filesystem' }, { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/srv/r' }, 'c.yml'),
    {
      driver: 'filesystem',
      root: '/srv/r',
    },
  );
  assert.throws(
    () =>
      storageFromConfig({ storage: { filesystem: { rootdirectory: '/a' } } }, { REGISTRY_STORAGE: 'azure' }, 'c.yml'),
    /storage driver "azure" is not one regaudit reads/,
  );
  assert.throws(
    () =>
      storageFromConfig(
        { storage: { s3: { bucket: 'b' } } },
        { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/a' },
        'c.yml',
      ),
    /multiple storage drivers specified in configuration or environment: filesystem, s3/,
  );
  assert.throws(() => storageFromConfig({ version: '0.1' }, {}, 'c.yml'), /no storage driver configured/);
});
