// Another checkout of this project, as a CI runner or a colleague's machine has it: every
// top-level entry linked, but no state, store or stack file of its own.
import * as fs from "fs";
import * as path from "path";
import { repoRoot } from "../../dev/toolchain/env";

export function projectCopy(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const entry of fs.readdirSync(repoRoot)) {
    if (/^(\.pulumi|\.kmod-fleet|\.git|Pulumi\..+\.yaml)$/.test(entry)) continue;
    fs.symlinkSync(path.join(repoRoot, entry), path.join(dir, entry));
  }
  return dir;
}
