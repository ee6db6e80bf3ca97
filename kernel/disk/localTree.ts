/**
 * A SourceTree over a local kernel tree, for the CLI, the tests and the benchmark.
 * readIfContains looks at the raw bytes before decoding: most .c files export nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { SourceTree } from "..";

export function localTree(root: string): SourceTree {
  const readBuf = (p: string): Buffer | undefined => {
    try {
      return fs.readFileSync(path.join(root, p));
    } catch {
      return undefined;
    }
  };
  return {
    read: (p) => readBuf(p)?.toString("utf8"),
    readIfContains: (p, needle) => {
      const b = readBuf(p);
      return b && b.indexOf(needle) >= 0 ? b.toString("utf8") : undefined;
    },
  };
}
