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
 *
 * On a miss the compiled CLI indexes Kbuild in a worker thread (kbuildWorker.ts) while it
 * parses Kconfig; run from TypeScript (tsx) it does both in turn.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Worker } from "worker_threads";
import { KernelModel } from "..";
import { MODEL_DATA_FORMAT, decodeKbuild, decodeModel, encodeKbuild, encodeKconfig } from "../modelData";
import { indexKbuild } from "../kbuild";
import { readerIndex } from "../impact";
import { localTree } from "./localTree";
import { FileRecord, recordingTree, sha256 } from "./recordingTree";
import type { KbuildJob, KbuildResult } from "./kbuildWorker";

/** Entries kept per bucket (trees that share their top files) and in the whole cache. */
const PER_BUCKET = 3;
const TOTAL = 12;
/** A file modified this close to the entry's writing is always hashed (racy-git's rule). */
const RACY_MS = 2000;

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
   * On a miss: writes the entry (hashing the files read and encoding the Kconfig part cost
   * about as much as a preflight, so the CLI prints its answer first). Returns why the
   * cache could not be written, if it could not.
   */
  store?: () => string | undefined;
}

/** The default cache folder: $XDG_CACHE_HOME/kmod-fleet/parsed or ~/.cache/kmod-fleet/parsed (undefined without a home). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, ".cache") : undefined);
  return base ? path.join(base, "kmod-fleet", "parsed") : undefined;
}

let codeIdMemo: string | undefined;
/** The analysis code's identity: a new parser must never read an old parser's model. */
function codeId(): string {
  if (codeIdMemo) return codeIdMemo;
  const dir = path.join(__dirname, "..");
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

const PARTS = [".manifest", ".kconfig", ".kbuild"];

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
      const st = fs.statSync(path.join(dir, `${id}.kconfig`), { throwIfNoEntry: false });
      return { id, mtime: st?.mtimeMs ?? 0 };
    })
    .sort((a, b) => b.mtime - a.mtime);
}

function removeEntry(dir: string, id: string): void {
  for (const ext of PARTS) fs.rmSync(path.join(dir, id + ext), { force: true });
}

function lookup(root: string, arch: string, dir: string): KernelModel | undefined {
  for (const { id } of entries(dir)) {
    try {
      const m = JSON.parse(fs.readFileSync(path.join(dir, `${id}.manifest`), "utf8")) as Manifest;
      if (m.format !== MODEL_DATA_FORMAT || m.arch !== arch || !stillValid(root, m)) continue;
      // The texts are ASCII (modelData escapes the rest): latin1 reads them as a plain copy.
      const read = (ext: string) => fs.readFileSync(path.join(dir, id + ext), "latin1");
      const parsed = decodeModel({ kconfig: read(".kconfig"), kbuild: read(".kbuild") });
      if (parsed.arch !== arch) continue;
      const now = new Date();
      fs.utimesSync(path.join(dir, `${id}.kconfig`), now, now); // most recently used
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
  fs.writeFileSync(tmp, text, "latin1");
  fs.renameSync(tmp, file);
}

function store(cacheDir: string, dir: string, arch: string, texts: { kconfig: string; kbuild: string }, files: FileRecord[], started: number): void {
  const manifest: Manifest = { format: MODEL_DATA_FORMAT, arch, written: started, files };
  const id = sha256(JSON.stringify(files.map((r) => [r[0], r[4] ?? null]))).slice(0, 32);
  fs.mkdirSync(dir, { recursive: true });
  // The parts first: a manifest is only ever visible with its parts.
  writeAtomic(path.join(dir, `${id}.kbuild`), texts.kbuild);
  writeAtomic(path.join(dir, `${id}.kconfig`), texts.kconfig);
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

/** The Kbuild part of a tree: from a worker thread when running compiled, else here. */
function kbuildPart(root: string, arch: string): { start: () => void; result: () => Promise<{ text: string; files: FileRecord[] }> } {
  const workerFile = path.join(__dirname, "kbuildWorker.js");
  if (__filename.endsWith(".js") && fs.existsSync(workerFile)) {
    let done: Promise<{ text: string; files: FileRecord[] }> | undefined;
    return {
      start: () => {
        const worker = new Worker(workerFile, { workerData: { root, arch } satisfies KbuildJob });
        done = new Promise((resolve, reject) => {
          worker.once("message", (r: KbuildResult) => ("error" in r ? reject(new Error(`indexing Kbuild: ${r.error}`)) : resolve(r)));
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`the Kbuild worker exited (${code}) without an answer`)));
        });
      },
      result: () => done!,
    };
  }
  let made: { text: string; files: FileRecord[] } | undefined;
  return {
    start: () => {},
    result: async () => {
      if (!made) {
        const rec = recordingTree(root);
        const index = indexKbuild(rec.tree, { srcarch: arch });
        rec.stop();
        made = { text: encodeKbuild(arch, index), files: rec.records() };
      }
      return made;
    },
  };
}

/**
 * The parsed model of the kernel tree at `root` for `arch`: from `cacheDir` when a valid
 * entry is there, else parsed (call `store` to cache it). Without `cacheDir`, just parsed.
 */
export async function loadModel(root: string, arch: string, cacheDir: string | undefined): Promise<LoadedModel> {
  if (!cacheDir) return { model: new KernelModel(localTree(root), { arch }), cache: "off" };
  const dir = path.join(cacheDir, bucketOf(root, arch));
  const hit = lookup(root, arch, dir);
  if (hit) return { model: hit, cache: "hit" };
  // Files written during this parse are racy against it: the manifest's time is its start.
  const started = Date.now();
  const kbuild = kbuildPart(root, arch);
  kbuild.start();
  const rec = recordingTree(root);
  const first = new KernelModel(rec.tree, { arch });
  rec.stop();
  const readers = readerIndex(first.kconfig);
  const built = await kbuild.result();
  const model = new KernelModel(localTree(root), { arch, parsed: { kconfig: first.kconfig, readers, kbuild: decodeKbuild(built.text).kbuild } });
  const storeOnce = () => {
    try {
      const texts = { kconfig: encodeKconfig(arch, first.kconfig, readers), kbuild: built.text };
      store(cacheDir, dir, arch, texts, [...rec.records(), ...built.files], started);
      return undefined;
    } catch (err) {
      return `the parsed tree was not cached in ${cacheDir}: ${(err as Error).message.split("\n")[0]}`;
    }
  };
  return { model, cache: "miss", store: storeOnce };
}

/** For tests: where an entry for this tree would live. */
export const cacheBucketFor = (cacheDir: string, root: string, arch: string): string => path.join(cacheDir, bucketOf(root, arch));
