// The identity of a local module folder: a hash of its files' paths and contents, without
// build products, so editing a source file rebuilds and building locally does not.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

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
