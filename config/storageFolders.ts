// The folders kmod-fleet keeps on a host must be separate: the overlay's upper and work
// dirs, the image cache and the work dir are created and emptied by the host scripts, and
// the modules dir is what the overlay covers. A folder inside another one would be hidden
// by the overlay, or removed with it.
import { isSameOrInside } from "./paths";
import { HOST_PATHS } from "./hostPaths";
import type { ResolvedStorage } from "./resolve";

interface Folder {
  /** The config path that sets it. */
  field: string;
  /** How a message names it. */
  name: string;
  path: string;
  /** Written in the config (not a default): a problem is blamed on it first. */
  given: boolean;
}

export function overlappingFolders(storage: ResolvedStorage, modulesDir: string, given: { storage: Record<string, unknown>; modulesDir: boolean }, problems: string[]): void {
  const folders: Folder[] = [
    { field: "storage.modulesRoot", name: "storage.modulesRoot", path: storage.modulesRoot, given: given.storage.modulesRoot !== undefined },
    { field: "storage.modulesRoot", name: "the overlay's work dir", path: storage.modulesWorkDir, given: given.storage.modulesRoot !== undefined },
    { field: "storage.cacheDir", name: "storage.cacheDir", path: storage.cacheDir, given: given.storage.cacheDir !== undefined },
    { field: "storage.workDir", name: "storage.workDir", path: storage.workDir, given: given.storage.workDir !== undefined },
    { field: "profile.modulesDir", name: "the modules dir", path: modulesDir, given: given.modulesDir },
  ];
  // One problem per pair of fields: the upper dir and its work dir clash together.
  const reported = new Set<string>();
  const report = (blamed: Folder, other: Folder, text: string) => {
    const pair = `${blamed.field} ${other.field}`;
    if (!reported.has(pair)) problems.push(`${blamed.field}: ${text}; ${HINT}`);
    reported.add(pair);
  };
  folders.forEach((a, i) => {
    folders.slice(i + 1).forEach((b) => {
      if (a.path === b.path) {
        const [blamed, other] = b.given || !a.given ? [b, a] : [a, b];
        report(blamed, other, `${blamed.path} is also ${other.name}`);
      } else if (isSameOrInside(a.path, b.path) || isSameOrInside(b.path, a.path)) {
        const [inner, outer] = isSameOrInside(a.path, b.path) ? [a, b] : [b, a];
        const [blamed, other] = inner.given || !outer.given ? [inner, outer] : [outer, inner];
        report(blamed, other, `${inner.path} is inside ${outer.name} ${outer.path}`);
      }
    });
  });
}

const HINT = `the overlay's upper dir (default ${HOST_PATHS.modulesRoot}) and its work dir, the cache, the work dir and the modules dir must be separate folders, none inside another`;
