/**
 * How the analysis reads a kernel tree. The analysis never touches the file system or a
 * network itself: the CLI passes a tree backed by a local directory, the pipeline one backed
 * by files fetched from a host over SSH, the unit tests an in-memory one.
 */
export interface SourceTree {
  /** The text of a file, path relative to the tree's top ("drivers/video/Makefile"); undefined when absent. */
  read(relPath: string): string | undefined;
  /**
   * Optional fast path: the text only when the file contains `needle` (else undefined).
   * Scanning 25,000 .c files for EXPORT_SYMBOL is dominated by decoding text that has none;
   * a local tree can test the raw bytes first, a remote one can grep on the host.
   */
  readIfContains?(relPath: string, needle: string): string | undefined;
}

/** A tree held in memory, keyed by relative path. Used by the unit tests and by callers that prefetch. */
export function memoryTree(files: Record<string, string>): SourceTree {
  return { read: (p) => files[normalize(p)] };
}

/** Joins and normalizes relative paths the way Kconfig `source` and Kbuild `obj-y += dir/` mean them. */
export function joinPath(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== "").join("/"));
}

export function normalize(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return out.join("/");
}

export function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}
