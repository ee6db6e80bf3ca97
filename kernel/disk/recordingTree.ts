/**
 * A local kernel tree that records, for every path a parse reads, what a later run must
 * find there for the parse's result to still hold: size, mtime, ctime and sha256, or that
 * the path was absent (kernel/disk/modelCache.ts). Used by the Kconfig parse and by the Kbuild
 * worker alike.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { SourceTree } from "..";
import { localTree } from "./localTree";

/** [path, size, mtimeMs, ctimeMs, sha256] of a file the parse read, or [path] for one it found absent. */
export type FileRecord = [string, number, number, number, string] | [string];

export const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

export function recordingTree(root: string): { tree: SourceTree; records: () => FileRecord[]; stop: () => void } {
  const read = new Map<string, { st?: fs.Stats; buf?: Buffer }>();
  const plain = localTree(root);
  let recording = true;
  return {
    tree: {
      read: (p) => {
        if (!recording) return plain.read(p);
        const full = path.join(root, p);
        // Stat before reading: a file that changes in between then has a newer stat than
        // the recorded one, and is hashed (and found changed) at the next lookup.
        const st = fs.statSync(full, { throwIfNoEntry: false });
        let buf: Buffer | undefined;
        try {
          buf = st?.isFile() ? fs.readFileSync(full) : undefined;
        } catch {
          buf = undefined;
        }
        if (!read.has(p)) read.set(p, { st, buf });
        return buf?.toString("utf8");
      },
      readIfContains: plain.readIfContains,
    },
    // Hashing waits until the records are asked for: after the answer, in the CLI.
    records: () => [...read].map(([p, { st, buf }]) => (buf && st ? [p, st.size, st.mtimeMs, st.ctimeMs, sha256(buf)] : [p])),
    stop: () => void (recording = false),
  };
}
