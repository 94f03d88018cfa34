import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync, symlinkSync } from 'node:fs';
import { StorageTree } from '../helpers/tree.js';
import { runCli } from '../helpers/cli.js';
import { dumpIndex } from '../helpers/index-dump.js';

const hex = (d: string): string => d.slice(d.indexOf(':') + 1);

function scan(root: string, db: string, ...flags: string[]): void {
  const r = runCli(['scan', root, '--db', db, '--quiet', ...flags]);
  assert.equal(r.code, 0, r.stderr);
}

test('a default scan (link and data opened by name) indexes what a thorough one does, less the strays beside good files', (t) => {
  const s = new StorageTree();
  t.after(() => s.cleanup());
  const img = s.image('app', 'v1', ['a', 'b']);
  s.image('app', 'v2', ['c']);
  const layer = `repositories/app/_layers/sha256/${hex(img.layers[0]!)}`;
  const rev = `repositories/app/_manifests/revisions/sha256/${hex(img.manifest)}`;
  const blob = `blobs/sha256/${hex(img.layers[1]!).slice(0, 2)}/${hex(img.layers[1]!)}`;
  // Beside good files: only a thorough scan lists these.
  const strays = [
    `${layer}/link.0190a0b1-aaaa-7bbb-8ccc-0123456789ab.tmp`,
    'repositories/app/_manifests/tags/v1/current/link.0a1b.tmp',
    `${blob}/data.0190a0b1.tmp`,
    `${rev}/signatures`,
  ];
  s.file(strays[0]!, img.layers[0]!).file(strays[1]!, 'x').file(strays[2]!, 'x').dir(strays[3]!);
  // Not beside a good file: both modes list the directory to say what is there.
  const d = (n: string): string => `${'d'.repeat(63)}${n}`;
  s.dir(`repositories/app/_layers/sha256/${d('1')}`); // empty digest directory
  s.file(`repositories/app/_layers/sha256/${d('2')}/link.9f.tmp`, 'x'); // only debris
  s.dir(`repositories/app/_layers/sha256/${d('3')}/link`); // link is a directory
  s.file(`repositories/app/_layers/sha256/${d('4')}/link`, 'not a digest');
  mkdirSync(path.join(s.v2, `repositories/app/_layers/sha256/${d('5')}`), { recursive: true });
  symlinkSync('/etc/hostname', path.join(s.v2, `repositories/app/_layers/sha256/${d('5')}/link`));
  s.dir(`blobs/sha256/dd/${d('6')}`); // blob directory without data
  s.dir(`blobs/sha256/dd/${d('7')}/data`); // data is a directory
  s.file(`repositories/other/_manifests/tags/t/current/link.1.tmp`, 'x'); // tag without current/link

  const fast = path.join(s.root, 'fast.db');
  const thorough = path.join(s.root, 'thorough.db');
  scan(s.root, fast);
  scan(s.root, thorough, '--thorough');
  const a = dumpIndex(fast);
  const b = dumpIndex(thorough);
  const debrisA = a.debris as Array<{ path: string }>;
  const debrisB = b.debris as Array<{ path: string }>;
  delete a.debris;
  delete b.debris;
  assert.deepEqual(a, b, 'every row but debris is the same in both modes');
  assert.deepEqual(
    debrisB
      .filter((x) => !debrisA.some((y) => y.path === x.path))
      .map((x) => x.path)
      .sort(),
    [...strays].sort(),
    'the thorough scan adds exactly the strays beside good files',
  );
  assert.ok(debrisA.every((x) => debrisB.some((y) => y.path === x.path)));
  assert.ok(debrisA.length >= 4, `debris both modes see: ${JSON.stringify(debrisA)}`);
});
