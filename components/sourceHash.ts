// The identity of a module set's source: for a local folder a hash of its files' paths and
// contents, without build products, so editing a source file rebuilds and building locally
// does not; for every kind, what decides the build's output besides the kernel.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { ModuleSource } from "../config/resolve";

const BUILD_PRODUCT = /(\.o|\.ko|\.mod|\.mod\.c|\.cmd|\.symvers|\.order|\.a)$|^\.tmp|^\.cache$|^\.git$/;

export function hashSourceDir(dir: string): string {
  const hash = crypto.createHash("sha256");
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (BUILD_PRODUCT.test(entry.name)) continue;
      const p = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) hash.update(`${p}\0`).update(fs.readFileSync(path.join(dir, p))).update("\0");
    }
  };
  walk("");
  return hash.digest("hex");
}

/**
 * Part of the artifact's key: the source (a local folder by its content hash, not its
 * path), and the command that fetches the kernel sources it is built against.
 */
export function sourceIdentity(source: ModuleSource, sourceHash: string, sourcesCommand: string): string {
  const what = source.kind === "dir" ? { kind: "dir", sha256: sourceHash } : source;
  return crypto.createHash("sha256").update(JSON.stringify([what, sourcesCommand])).digest("hex");
}
