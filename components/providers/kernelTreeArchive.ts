// Unpacks the Kconfig tree a builder sends (build.sh's kconfig-files: a tar.gz of its
// Kconfig/Kbuild/Makefile files, Module.symvers and C files) into a folder on the machine
// that runs Pulumi. The archive comes from a host, which may send anything: `tar -x` would
// keep a link `Kconfig -> /etc/hostname`, and the analysis would then read this machine's
// own file. So the archive is read here, entry by entry: only regular files and folders are
// written, each at a path checked to stay inside the folder; a link is never created.
//
// Plain functions with require() inside: providers serialize them (see host/ssh/session.ts).

/** What was left out, for the caller to mention: links and special files, by name. */
export interface UnpackResult {
  skipped: string[];
}

/** A gzip that inflates past this is refused (the Kconfig tree of a kernel is about 30 MB). */
const MAX_TREE_BYTES = 512 * 1024 * 1024;

/**
 * An entry's path as a relative path inside the folder, or an error: no absolute path, no
 * `..`, nothing empty. `.` segments and a trailing `/` are dropped ("./drivers/Kconfig").
 */
function treePath(name: string): string | { error: string } {
  if (name.startsWith("/")) return { error: `the absolute path ${JSON.stringify(name)}` };
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { error: `the path ${JSON.stringify(name)}, which leaves the tree` };
  return segments.join("/");
}

/** A header's numeric field: octal digits (GNU tar's base-256 form is refused: no such sizes here). */
function octal(field: Buffer): number {
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (!/^[0-7]*$/.test(text)) return NaN;
  return text === "" ? 0 : parseInt(text, 8);
}

function text(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString("utf8");
}

/** The `path` and `linkpath` records of a pax extended header ("<len> key=value\n" each). */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = Number(data.subarray(at, space).toString("latin1"));
    if (space === -1 || !Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, at + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

interface Entry {
  name: string;
  type: string;
  linkName: string;
  data: Buffer;
}

/** The entries of an uncompressed tar (ustar, GNU long names, pax paths), in order; data are views of `tar`. */
function tarEntries(tar: Buffer): Entry[] {
  const entries: Entry[] = [];
  let at = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const sum = header.reduce((n, b, i) => n + (i >= 148 && i < 156 ? 0x20 : b), 0);
    const size = octal(header.subarray(124, 136));
    if (octal(header.subarray(148, 156)) !== sum || !Number.isFinite(size)) throw new Error(`a damaged tar header at byte ${at}`);
    const data = tar.subarray(at + 512, at + 512 + size);
    if (data.length !== size) throw new Error(`a truncated tar entry at byte ${at}`);
    at += 512 + Math.ceil(size / 512) * 512;
    const type = String.fromCharCode(header[156] || 0x30);
    if (type === "L") longName = text(data);
    else if (type === "K") longLink = text(data);
    else if (type === "x") {
      const pax = paxRecords(data);
      longName = pax.path ?? longName;
      longLink = pax.linkpath ?? longLink;
    } else if (type !== "g") {
      // POSIX ustar splits a long name into prefix/name; GNU's header has other fields there.
      const prefix = header.subarray(257, 263).toString("latin1") === "ustar\u000000" ? text(header.subarray(345, 500)) : "";
      const name = longName ?? (prefix ? `${prefix}/${text(header.subarray(0, 100))}` : text(header.subarray(0, 100)));
      entries.push({ name, type, linkName: longLink ?? text(header.subarray(157, 257)), data });
      longName = longLink = undefined;
    }
  }
  return entries;
}

/**
 * Writes the archive's regular files and folders under `dir` (an empty folder this process
 * made). A hard link to a file written before is written as a copy of it; symbolic links,
 * other hard links and special files are left out (and listed). An absolute path or a `..`
 * makes the whole archive refused: build.sh never writes one.
 */
export function unpackKernelTree(host: string, tarGz: Buffer, dir: string): UnpackResult {
  const fs = require("fs");
  const path = require("path");
  const zlib = require("zlib");
  const refuse = (why: string) => new Error(`${host}: refusing the kernel tree the host sent: ${why}`);
  let tar: Buffer;
  try {
    tar = zlib.gunzipSync(tarGz, { maxOutputLength: MAX_TREE_BYTES });
  } catch (e: any) {
    throw refuse(`not a gzip archive of at most ${MAX_TREE_BYTES / 1024 / 1024} MiB (${e?.message ?? e})`);
  }
  const written = new Set<string>();
  const skipped: string[] = [];
  try {
    for (const e of tarEntries(tar)) {
      const rel = treePath(e.name);
      if (typeof rel !== "string") throw refuse(`it holds ${rel.error}`);
      if (rel === "") continue;
      const target = path.join(dir, rel);
      if (e.type === "5") {
        fs.mkdirSync(target, { recursive: true });
      } else if (e.type === "0" || e.type === "7") {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, e.data);
        written.add(rel);
      } else if (e.type === "1" && written.has(treePath(e.linkName) as string)) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.copyFileSync(path.join(dir, treePath(e.linkName) as string), target);
        written.add(rel);
      } else {
        skipped.push(e.type === "2" || e.type === "1" ? `${rel} -> ${e.linkName}` : rel);
      }
    }
  } catch (e: any) {
    throw e?.message?.startsWith(`${host}: refusing`) ? e : refuse(e?.message ?? String(e));
  }
  return { skipped };
}
