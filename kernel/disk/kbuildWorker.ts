/**
 * The Kbuild index of a tree never seen before, made in a worker thread while the main
 * thread parses Kconfig (kernel/disk/modelCache.ts): the two are independent, and on a machine
 * with a second core (or a busy one, where each thread gets its own share) the first run
 * on a tree costs the longer of the two instead of their sum. The index comes back as the
 * Kbuild part of the cache's text (modelData.ts), which the main thread decodes lazily
 * and stores as it is, with the records of every path the index read.
 */
import { parentPort, workerData } from "worker_threads";
import { indexKbuild } from "../kbuild";
import { encodeKbuild } from "../modelData";
import { FileRecord, recordingTree } from "./recordingTree";

export interface KbuildJob {
  root: string;
  arch: string;
}

export type KbuildResult = { text: string; files: FileRecord[] } | { error: string };

const job = workerData as KbuildJob;
let result: KbuildResult;
try {
  const rec = recordingTree(job.root);
  const index = indexKbuild(rec.tree, { srcarch: job.arch });
  rec.stop();
  result = { text: encodeKbuild(job.arch, index), files: rec.records() };
} catch (err) {
  result = { error: (err as Error).stack ?? String(err) };
}
parentPort!.postMessage(result);
