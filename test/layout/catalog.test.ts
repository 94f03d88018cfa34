import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogOrder } from '../../src/layout/catalog.js';

const both = (name: string) => ({ name, hasLayers: true, hasManifests: true });

test('catalog order follows the walker: digit-leading children come before their parent', () => {
  // Observed on v2.8.3: repos app, app/2024, app/b, lib → [app/2024 app app/b lib]
  const entries = ['lib', 'app/b', 'app', 'app/2024'].map(both);
  assert.deepEqual(catalogOrder(entries, 2), ['app/2024', 'app', 'app/b', 'lib']);
  assert.deepEqual(catalogOrder(entries, 3), ['app/2024', 'app', 'app/b', 'lib']);
});

test('2.x lists _layers, 3.x lists _manifests', () => {
  const entries = [
    { name: 'only-layers', hasLayers: true, hasManifests: false },
    { name: 'only-manifests', hasLayers: false, hasManifests: true },
    { name: 'uploads-only', hasLayers: false, hasManifests: false },
  ];
  assert.deepEqual(catalogOrder(entries, 2), ['only-layers']);
  assert.deepEqual(catalogOrder(entries, 3), ['only-manifests']);
});

test('a-b sorts before a/ children on the filesystem walk, byte order per directory', () => {
  const entries = ['a', 'a-b', 'a/b', 'a.c', 'Z.example.com/x'].map(both);
  // In repositories/: "Z.example.com" < "a" < "a-b" < "a.c"; within a/: "_layers" < "b"
  assert.deepEqual(catalogOrder(entries, 2), ['Z.example.com/x', 'a', 'a/b', 'a-b', 'a.c']);
});
