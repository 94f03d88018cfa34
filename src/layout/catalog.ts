/**
 * What `/v2/_catalog` lists, in the registry's own order (registry/storage/catalog.go).
 * The walker visits each directory's children sorted bytewise, pre-order, skips every `_` directory,
 * and emits a repository when it reaches its marker: `_layers` on 2.x, `_manifests` on 3.x.
 * So `app/2024` is emitted before `app` ('2' < '_'), and the order is not plain lexical.
 */
export type RegistryVersion = 2 | 3;

export interface CatalogEntry {
  name: string;
  hasLayers: boolean;
  hasManifests: boolean;
}

interface Node {
  children: Map<string, Node>;
  listed: boolean;
}

export function markerFor(version: RegistryVersion): '_layers' | '_manifests' {
  return version === 2 ? '_layers' : '_manifests';
}

export function isListed(entry: Omit<CatalogEntry, 'name'>, version: RegistryVersion): boolean {
  return version === 2 ? entry.hasLayers : entry.hasManifests;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The catalog of a registry of `version` over these repositories, in the order it would list them. */
export function catalogOrder(entries: readonly CatalogEntry[], version: RegistryVersion): string[] {
  const root: Node = { children: new Map(), listed: false };
  for (const e of entries) {
    if (!isListed(e, version)) continue;
    let node = root;
    for (const part of e.name.split('/')) {
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { children: new Map(), listed: false }));
      node = next;
    }
    node.listed = true;
  }
  const marker = markerFor(version);
  const out: string[] = [];
  const visit = (node: Node, prefix: string): void => {
    const names = [...node.children.keys()];
    if (node.listed) names.push(marker);
    names.sort(byteOrder);
    for (const name of names) {
      if (name === marker && node.listed) out.push(prefix);
      else visit(node.children.get(name)!, prefix === '' ? name : `${prefix}/${name}`);
    }
  };
  visit(root, '');
  return out;
}
