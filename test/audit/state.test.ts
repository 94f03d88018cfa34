import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repositoryState } from '../../src/audit/state.js';

test('the empty-repository rule', () => {
  assert.equal(repositoryState({ liveTags: 1, tagLinks: 1, revisions: 1 }), 'active');
  assert.equal(repositoryState({ liveTags: 0, tagLinks: 0, revisions: 2 }), 'untagged');
  assert.equal(repositoryState({ liveTags: 0, tagLinks: 1, revisions: 1 }), 'untagged');
  assert.equal(repositoryState({ liveTags: 0, tagLinks: 2, revisions: 0 }), 'broken');
  assert.equal(repositoryState({ liveTags: 0, tagLinks: 0, revisions: 0 }), 'empty');
});
