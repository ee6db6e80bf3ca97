// The local artifact store used by several processes at once (Pulumi runs providers in
// their own processes, and two runs may share one store): real node processes put,
// remove and get on one scratch store, and what a user would check afterwards is whole.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalArtifactStore } from "../../artifacts/store";

const worker = path.join(__dirname, "fixtures", "storeWorker.ts");
const key = (sourceIdentity: string) => ({ kernelRelease: "6.1.0-57-cloud-amd64", arch: "x86_64", set: "pair", sourceIdentity });

/** Runs the worker processes at once; each one's JSON line. */
async function runAll(jobs: object[], timeoutMs = 60_000): Promise<Record<string, string>[]> {
  return Promise.all(
    jobs.map(
      (job) =>
        new Promise<Record<string, string>>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", worker, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          let err = "";
          const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
          child.stdout.on("data", (d) => (out += d));
          child.stderr.on("data", (d) => (err += d));
          child.on("close", (code) => {
            clearTimeout(timer);
            if (code === 0) resolve(JSON.parse(out.trim().split("\n").pop()!));
            else reject(new Error(`store worker ${JSON.stringify(job)} exited ${code}: ${err}`));
          });
        }),
    ),
  );
}

let root: string;
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "artifacts-procs-"))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("LocalArtifactStore shared by several processes", () => {
  it("remove() in one process never takes the files of what another process just stored, nor of what a third one reads", async () => {
    const count = 150;
    const [, , watcher] = await runAll([
      { root, role: "store", tag: "kept", count },
      { root, role: "churn", tag: "churn", count },
      { root, role: "watch", tag: "kept", count },
    ]);
    expect(watcher, "artifacts the reader saw whole, and saw go again").toEqual({ seen: String(count), lost: "0" });
    const store = new LocalArtifactStore(root);
    const broken: string[] = [];
    for (let i = 0; i < count; i++) if (!(await store.get(key(`kept-${i}`)))) broken.push(`kept-${i}`);
    expect(broken, `${broken.length} of ${count} stored artifacts lost their files`).toEqual([]);
  }, 120_000);

  it("two processes storing the same keys end with one artifact per key, the one both puts returned, and no orphaned files", async () => {
    const count = 120;
    const [a, b] = await runAll([
      { root, role: "same", tag: "run-a", count },
      { root, role: "same", tag: "run-b", count },
    ]);
    const store = new LocalArtifactStore(root);
    const disagree: string[] = [];
    const referenced = new Set<string>();
    for (let i = 0; i < count; i++) {
      const stored = (await store.get(key(`same-${i}`)))!;
      const hash = stored.manifest.modules[0].sha256;
      referenced.add(`${hash}.ko`);
      if (a[`same-${i}`] !== hash || b[`same-${i}`] !== hash) disagree.push(`same-${i}`);
    }
    expect(disagree, `${disagree.length} of ${2 * count} puts returned a build the store no longer holds`).toEqual([]);
    const orphans = fs.readdirSync(path.join(root, "blobs")).filter((f) => !referenced.has(f));
    expect(orphans, `${orphans.length} files no artifact refers to`).toEqual([]);
  }, 120_000);
});
