import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JSON_ITEMS_PER_PIECE, json, jsonChunks, jsonDocChunks } from '../../src/report/format.js';

test('jsonChunks writes the bytes of json(), whatever the number of items and the batch size', () => {
  const finding = (i: number): Record<string, unknown> => ({
    kind: i % 2 ? 'untagged-manifest' : 'debris',
    severity: 'info',
    repository: `team/app-${i} "quoted"\n`,
    ...(i % 3 ? { digest: `sha256:${i.toString(16).padStart(64, '0')}` } : {}),
    bytes: i * 1000,
    nested: { list: [i, { deep: [] }], empty: {} },
    skipped: undefined,
  });
  for (const n of [0, 1, 2, 999, 1000, 1001, 2500]) {
    for (const batch of [1, 7, 1000]) {
      const doc = {
        root: '/srv/registry',
        scannedAt: '2026-11-28T00:00:00.000Z',
        repositories: [{ name: 'a', tags: 0 }],
        findings: Array.from({ length: n }, (_, i) => finding(i)),
      };
      const chunks = [...jsonChunks(doc, 'findings', batch)];
      assert.equal(chunks.join(''), json(doc), `${n} items, batch ${batch}`);
      if (n > batch) assert.ok(chunks.length > 2, 'streamed in pieces');
    }
  }
  // Not the last key, or not an array: one piece, still the same bytes.
  const odd = { findings: [1, 2], after: true };
  assert.deepEqual([...jsonChunks(odd, 'findings')], [json(odd)]);
});

test('jsonDocChunks writes the bytes of json(), long arrays at any depth included', () => {
  const item = (i: number): Record<string, unknown> => ({
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: i,
    repository: i % 2 ? `team/app-${i} "q"\n` : null,
    skipped: undefined,
    list: i % 3 ? [] : [i, { deep: {} }],
  });
  for (const n of [0, 1, 64, 65, 3000]) {
    const doc = {
      root: '/srv/registry',
      filter: null,
      scenarios: [1, 2].map((s) => ({
        id: s,
        issues: [],
        blobs: { count: n, items: Array.from({ length: n }, (_, i) => item(i)) },
        odd: [undefined, () => 1, Symbol('x'), 3],
        fn: () => 1,
        brokenTags: Array.from({ length: n }, (_, i) => ({ tag: `v${i}`, deleted: [String(i)] })),
      })),
      empty: {},
    };
    for (const piece of [1, 100, 1 << 16]) {
      const chunks = [...jsonDocChunks(doc, piece)];
      assert.equal(chunks.join(''), json(doc), `${n} items, pieces of ${piece}`);
      if (n > 64 && piece === 100)
        assert.ok(chunks.length >= 4 * Math.ceil(n / JSON_ITEMS_PER_PIECE), 'streamed a batch of items at a time');
    }
  }
});

test('jsonDocChunks writes an iterable that is not an array as the array of its items, read as it writes', () => {
  const item = (i: number): Record<string, unknown> => ({
    digest: `sha256:${i}`,
    size: i,
    repository: i % 2 ? 'a' : null,
  });
  for (const n of [0, 1, 64, 65, 3000]) {
    const items = Array.from({ length: n }, (_, i) => item(i));
    let reads = 0;
    const stream = {
      *[Symbol.iterator]() {
        reads++;
        yield* items;
      },
    };
    const asArrays = { scenarios: [{ id: 1, blobs: { count: n, items }, tags: new Map([['v', 1]]) }] };
    const streamed = { scenarios: [{ id: 1, blobs: { count: n, items: stream }, tags: new Map([['v', 1]]) }] };
    assert.equal([...jsonDocChunks(streamed, 100)].join(''), json(asArrays), `${n} items`);
    assert.equal(reads, 1, 'read once, as it is written');
  }
});
