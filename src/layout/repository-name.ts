/**
 * Repository name grammar of distribution/reference (NameRegexp):
 *   name := [domain '/'] path-component ('/' path-component)*
 *   path-component := [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)*
 * A first component that looks like a domain (has '.', ':port' or is 'localhost') may hold
 * uppercase letters and a port, because the HTTP routes accept a domain prefix.
 */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

export const REPOSITORY_NAME_MAX = 255;

/** Null when `name` is a valid repository name, otherwise the reason it is not. */
export function repositoryNameProblem(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > REPOSITORY_NAME_MAX) return `longer than ${REPOSITORY_NAME_MAX} characters`;
  const parts = name.split('/');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (PATH_COMPONENT.test(p)) continue;
    const domainLike = i === 0 && parts.length > 1 && (p.includes('.') || p.includes(':') || p === 'localhost');
    if (domainLike && DOMAIN.test(p)) continue;
    return `component "${p}" does not match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*`;
  }
  return null;
}

/** Tag grammar: [\w][\w.-]{0,127}. */
export function isValidTag(tag: string): boolean {
  return /^[\w][\w.-]{0,127}$/.test(tag);
}
