/**
 * The empty-repository rule, as a pure function of a repository's counts.
 *   active   – at least one tag whose current link names a present revision
 *   untagged – revisions, but no live tag
 *   broken   – tag links whose target is gone, and no revisions
 *   empty    – no tag links and no revision links (the state API deletes + GC leave behind)
 * Link files count whether or not they parse: a garbage revision link is not proof of emptiness.
 */
export type RepositoryState = 'active' | 'untagged' | 'broken' | 'empty';

export interface StateInput {
  liveTags: number;
  tagLinks: number;
  revisions: number;
}

export function repositoryState(r: StateInput): RepositoryState {
  if (r.liveTags > 0) return 'active';
  if (r.revisions > 0) return 'untagged';
  if (r.tagLinks > 0) return 'broken';
  return 'empty';
}
