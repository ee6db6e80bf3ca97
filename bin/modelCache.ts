/**
 * A cache of parsed kernel trees on disk, so that a one-shot `kmod-fleet preflight` does
 * not parse 1,500 Kconfig files and 1,900 makefiles every time (about 2 s of a 2.5 s run).
 *
 * Keyed by content. A parse reads files only through its SourceTree, so the result is a
 * function of the analysis code, the architecture, and the content (or absence) of every
 * path it asked for. The cache records exactly those paths (a manifest: size, mtime,
 * ctime and sha256 of each, or "absent") and reuses an entry only when every one still
 * matches:
 * - the bucket is chosen by the analysis code (the files of kernel/), the format, the
 *   architecture and the top Kconfig/Makefile/Kbuild/arch Makefile, so a tree copied or
 *   fetched again elsewhere (the pipeline unpacks a host's tree into a new temp folder)
 *   finds its entry;
 * - a file whose size, mtime and ctime are unchanged is trusted without reading it, unless
 *   its mtime was within RACY_MS of the moment the entry was written (a change in the same
 *   clock tick would not show); any other file is read and its hash compared, so a touched
 *   but unchanged file still hits and a changed one never does.
 * A damaged entry is a miss (and is removed); a cache that cannot be written is only a
 * note: the analysis never depends on the cache.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { KernelModel, SourceTree } from "../kernel";
import { MODEL_DATA_FORMAT, decodeModel, encodeModel } from "../kernel/modelData";
import { localTree } from "./localTree";

/** Entries kept per bucket (trees that share their top files) and in the whole cache. */
const PER_BUCKET = 3;
const TOTAL = 12;
/** A file modified this close to the entry's writing is always hashed (racy-git's rule). */
const RACY_MS = 2000;

/** [path, size, mtimeMs, ctimeMs, sha256] of a file the parse read, or [path] for one it found absent. */
type FileRecord = [string, number, number, number, string] | [string];

interface Manifest {
  format: number;
  arch: string;
  written: number;
  files: FileRecord[];
}

export interface LoadedModel {
  model: KernelModel;
  /** hit: read from the cache; miss: parsed, `store` caches it; off: parsed, no cache asked for. */
  cache: "hit" | "miss" | "off";
  /**
   * On a miss: writes the entry (encoding costs about as much as a preflight, so the CLI
   * prints its answer first). Returns why the cache could not be written, if it could not.
   */
  store?: () => string | undefined;
}

/** The default cache folder: $XDG_CACHE_HOME/kmod-fleet/parsed or ~/.cache/kmod-fleet/parsed (undefined without a home). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, ".cache") : undefined);
  return base ? path.join(base, "kmod-fleet", "parsed") : undefined;
}

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

let codeIdMemo: string | undefined;
/** The analysis code's identity: a new parser must never read an old parser's model. */
function codeId(): string {
  if (codeIdMemo) return codeIdMemo;
  const dir = path.join(__dirname, "..", "kernel");
  const h = createHash("sha256").update(`format ${MODEL_DATA_FORMAT}\n`);
  for (const f of fs.readdirSync(dir).sort()) {
    if (!/\.(ts|js)$/.test(f) || f.endsWith(".test.ts")) continue;
    h.update(`${f}\n`).update(fs.readFileSync(path.join(dir, f)));
  }
  return (codeIdMemo = h.digest("hex"));
}

function bucketOf(root: string, arch: string): string {
  const h = createHash("sha256").update(`${codeId()}\n${arch}\n`);
  for (const f of ["Kconfig", "Makefile", "Kbuild", `arch/${arch}/Makefile`]) {
    let content: Buffer | undefined;
    try {
      content = fs.readFileSync(path.join(root, f));
    } catch {
      content = undefined;
    }
    h.update(`${f} ${content ? sha256(content) : "absent"}\n`);
  }
  return h.digest("hex").slice(0, 32);
}

/** A local tree that records, for every path read, what a later run must find there. */
function recordingTree(root: string): { tree: SourceTree; files: Map<string, FileRecord>; stop: () => void } {
  const files = new Map<string, FileRecord>();
  const plain = localTree(root);
  let recording = true;
  const read = (p: string): string | undefined => {
    if (!recording) return plain.read(p);
    const full = path.join(root, p);
    // Stat before reading: a file that changes in between then has a newer stat than the
    // recorded one, and is hashed (and found changed) at the next lookup.
    const st = fs.statSync(full, { throwIfNoEntry: false });
    let buf: Buffer | undefined;
    try {
      buf = st?.isFile() ? fs.readFileSync(full) : undefined;
    } catch {
      buf = undefined;
    }
    if (!files.has(p)) files.set(p, buf && st ? [p, st.size, st.mtimeMs, st.ctimeMs, sha256(buf)] : [p]);
    return buf?.toString("utf8");
  };
  return {
    tree: { read, readIfContains: plain.readIfContains },
    files,
    stop: () => void (recording = false),
  };
}

/** Whether every recorded path still holds what the parse read. */
function stillValid(root: string, m: Manifest): boolean {
  const top = root.endsWith("/") ? root : `${root}/`;
  for (const rec of m.files) {
    const full = top + rec[0]; // recorded paths are normalized and relative (path.join costs more than the stat)
    const st = fs.statSync(full, { throwIfNoEntry: false });
    if (rec.length === 1) {
      if (st?.isFile()) return false;
      continue;
    }
    const [, size, mtime, ctime, hash] = rec;
    if (!st?.isFile() || st.size !== size) return false;
    if (st.mtimeMs === mtime && st.ctimeMs === ctime && m.written - mtime > RACY_MS) continue;
    let buf: Buffer;
    try {
      buf = fs.readFileSync(full);
    } catch {
      return false;
    }
    if (sha256(buf) !== hash) return false;
  }
  return true;
}

function entries(dir: string): { id: string; mtime: number }[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".manifest"))
    .map((n) => {
      const id = n.slice(0, -".manifest".length);
      const st = fs.statSync(path.join(dir, `${id}.model`), { throwIfNoEntry: false });
      return { id, mtime: st?.mtimeMs ?? 0 };
    })
    .sort((a, b) => b.mtime - a.mtime);
}

function removeEntry(dir: string, id: string): void {
  for (const ext of [".manifest", ".model"]) fs.rmSync(path.join(dir, id + ext), { force: true });
}

function lookup(root: string, arch: string, dir: string): KernelModel | undefined {
  for (const { id } of entries(dir)) {
    try {
      const m = JSON.parse(fs.readFileSync(path.join(dir, `${id}.manifest`), "utf8")) as Manifest;
      if (m.format !== MODEL_DATA_FORMAT || m.arch !== arch || !stillValid(root, m)) continue;
      // The text is ASCII (modelData escapes the rest): latin1 reads it as a plain copy.
      const parsed = decodeModel(fs.readFileSync(path.join(dir, `${id}.model`), "latin1"));
      if (parsed.arch !== arch) continue;
      const now = new Date();
      fs.utimesSync(path.join(dir, `${id}.model`), now, now); // most recently used
      return new KernelModel(localTree(root), { arch, parsed });
    } catch {
      // A damaged or half-removed entry: drop it and parse.
      removeEntry(dir, id);
    }
  }
  return undefined;
}

/** Writes a file so that no reader ever sees it half-written. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function store(cacheDir: string, dir: string, arch: string, model: KernelModel, files: Map<string, FileRecord>, started: number): void {
  const manifest: Manifest = { format: MODEL_DATA_FORMAT, arch, written: started, files: [...files.values()] };
  const id = sha256(JSON.stringify(manifest.files.map((r) => [r[0], r[4] ?? null]))).slice(0, 32);
  fs.mkdirSync(dir, { recursive: true });
  // The model first: a manifest is only ever visible with its model.
  writeAtomic(path.join(dir, `${id}.model`), encodeModel(arch, model.parsed));
  writeAtomic(path.join(dir, `${id}.manifest`), JSON.stringify(manifest));
  // Keep the newest few per bucket and overall.
  entries(dir).slice(PER_BUCKET).forEach((e) => removeEntry(dir, e.id));
  const all = fs
    .readdirSync(cacheDir)
    .filter((b) => /^[0-9a-f]{32}$/.test(b))
    .flatMap((b) => entries(path.join(cacheDir, b)).map((e) => ({ ...e, dir: path.join(cacheDir, b) })))
    .sort((a, b) => b.mtime - a.mtime);
  all.slice(TOTAL).forEach((e) => removeEntry(e.dir, e.id));
}

/**
 * The parsed model of the kernel tree at `root` for `arch`: from `cacheDir` when a valid
 * entry is there, else parsed (call `store` to cache it). Without `cacheDir`, just parsed.
 */
export function loadModel(root: string, arch: string, cacheDir: string | undefined): LoadedModel {
  if (!cacheDir) return { model: new KernelModel(localTree(root), { arch }), cache: "off" };
  const dir = path.join(cacheDir, bucketOf(root, arch));
  const hit = lookup(root, arch, dir);
  if (hit) return { model: hit, cache: "hit" };
  // Files written during this parse are racy against it: the manifest's time is its start.
  const started = Date.now();
  const rec = recordingTree(root);
  const model = new KernelModel(rec.tree, { arch });
  model.parsed; // the Kbuild index and readers too, while reads are recorded
  rec.stop();
  const storeOnce = () => {
    try {
      store(cacheDir, dir, arch, model, rec.files, started);
      return undefined;
    } catch (err) {
      return `the parsed tree was not cached in ${cacheDir}: ${(err as Error).message.split("\n")[0]}`;
    }
  };
  return { model, cache: "miss", store: storeOnce };
}

/** For tests: where an entry for this tree would live. */
export const cacheBucketFor = (cacheDir: string, root: string, arch: string): string => path.join(cacheDir, bucketOf(root, arch));
