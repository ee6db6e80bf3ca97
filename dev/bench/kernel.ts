/**
 * Benchmark of the kernel analysis as an operator runs it: `kmod-fleet preflight` (and the
 * doctor) as a new Node.js process on each generation's Debian x86 tree, process start
 * included (npm run bench:kernel). Compiled CLI (dist/, built first when older than the
 * sources), the cloud-amd64 config, DRM_I915=m.
 *
 * Per generation, in rounds so that the machine's load drifts over all of them alike:
 *   cold      the tree never seen: an empty cache folder (parse, answer, then store);
 *   warm      the same tree again (the parse cache hits);
 *   no cache  --no-cache, what every run cost before the cache.
 * Each run: wall time to the answer (first line on stdout) and to the process's exit, CPU
 * time (user+system) and peak RSS (/usr/bin/time). Medians of BENCH_RUNS (default 3).
 * Then the doctor on the seed's dmesg lines against the cloud Module.symvers, warm and cold.
 * Figures go to .cache/bench/kernel.json. On a shared machine compare figures of one run.
 */
import { spawn, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GENERATIONS, Generation, REPO, kernelData } from "../../test/kernel/data";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLI = path.join(REPO, "dist/bin/kmod-fleet.js");
const DMESG = [
  "[83845.709910] drm: Unknown symbol hdmi_vendor_infoframe_init (err -2)",
  "[83845.710508] drm: Unknown symbol dma_fence_add_callback (err -2)",
  "[83845.711248] drm: Unknown symbol dma_buf_attach (err -2)",
  "[83845.721771] drm: Unknown symbol sync_file_create (err -2)",
  "[83845.721772] drm_kms_helper: Unknown symbol mipi_dsi_attach (err -2)",
  "[83845.721773] i2c_core: Unknown symbol __i2c_board_list (err -2)",
].join("\n");

interface Run {
  /** Seconds to the first line of the answer, and to the exit. */
  answer: number;
  exit: number;
  cpu: number;
  /** Peak resident set size, MB. */
  rss: number;
}

/** The compiled CLI, built when missing or older than any source it is built from. */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    fs.readdirSync(path.join(REPO, dir)).filter((f) => /\.(ts|sh)$/.test(f)).reduce((m, f) => Math.max(m, fs.statSync(path.join(REPO, dir, f)).mtimeMs), 0);
  const sources = Math.max(...["kernel", "bin", "components"].map(newest));
  if (fs.existsSync(CLI) && fs.statSync(CLI).mtimeMs > sources) return;
  console.log("building dist/ (npm run build) ...");
  execFileSync("npm", ["run", "-s", "build"], { cwd: REPO, stdio: "inherit" });
}

/** One CLI process under /usr/bin/time. */
function runCli(args: string[], input?: string): Promise<Run> {
  const timeFile = path.join(os.tmpdir(), `kmod-fleet-bench-${process.pid}.time`);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let answer = 0;
    const child = spawn("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, process.execPath, CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.on("data", () => (answer ||= Number(process.hrtime.bigint() - t0) / 1e9));
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.stdin.end(input ?? "");
    child.on("error", reject);
    child.on("close", (code) => {
      const exit = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0 && code !== 1) return reject(new Error(`kmod-fleet ${args.join(" ")} exited ${code}: ${err}`));
      const [user, sys, maxKb] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
      fs.rmSync(timeFile, { force: true });
      resolve({ answer: answer || exit, exit, cpu: user + sys, rss: maxKb / 1024 });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (runs: Run[]) => ({
  answer: median(runs.map((r) => r.answer)),
  exit: median(runs.map((r) => r.exit)),
  cpu: median(runs.map((r) => r.cpu)),
  rss: Math.max(...runs.map((r) => r.rss)),
  min: Math.min(...runs.map((r) => r.exit)),
  max: Math.max(...runs.map((r) => r.exit)),
});

function row(label: string, runs: Run[]): string {
  const s = summary(runs);
  return `${label.padEnd(30)} answer ${s.answer.toFixed(2)} s, exit ${s.exit.toFixed(2)} s (${s.min.toFixed(2)}-${s.max.toFixed(2)}), cpu ${s.cpu.toFixed(2)} s, peak RSS ${s.rss.toFixed(0)} MB`;
}

async function main(): Promise<void> {
  ensureBuilt();
  const gens = (process.env.BENCH_KERNELS?.split(",") as Generation[] | undefined) ?? [...GENERATIONS];
  const data = Object.fromEntries(gens.map((g) => [g, kernelData(g)]));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-bench-"));
  const warmCache = path.join(scratch, "warm");
  const args = (g: Generation) => ["preflight", "--source", data[g].src, "--config", data[g].configs["cloud-amd64"] ?? data[g].configs["amd64"], "DRM_I915=m"];
  const results: Record<string, Run[]> = {};
  const add = (k: string, r: Run) => (results[k] ??= []).push(r);
  const load0 = os.loadavg();
  try {
    // The warm cache gets each tree once before the rounds.
    for (const g of gens) await runCli([...args(g), "--cache", warmCache]);
    for (let i = 0; i < RUNS; i++) {
      for (const g of gens) {
        add(`${g} cold`, await runCli([...args(g), "--cache", path.join(scratch, `cold-${g}-${i}`)]));
        add(`${g} warm`, await runCli([...args(g), "--cache", warmCache]));
        add(`${g} no cache`, await runCli([...args(g), "--no-cache"]));
      }
    }
    const doctorGen = gens.includes("6.1") ? "6.1" : gens[0];
    const d = data[doctorGen];
    const doctorArgs = ["doctor", "--source", d.src, "--config", d.configs["cloud-amd64"] ?? d.configs["amd64"], "--dmesg", "-", ...(d.cloudSymvers ? ["--symvers", d.cloudSymvers] : [])];
    for (let i = 0; i < RUNS; i++) {
      add(`doctor ${doctorGen} warm`, await runCli([...doctorArgs, "--cache", warmCache], DMESG));
      add(`doctor ${doctorGen} cold`, await runCli([...doctorArgs, "--cache", path.join(scratch, `doctor-cold-${i}`)], DMESG));
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const load1 = os.loadavg();
  const load = `load average ${load0.map((x) => x.toFixed(1)).join(" ")} before, ${load1.map((x) => x.toFixed(1)).join(" ")} after`;
  console.log(`kmod-fleet preflight DRM_I915=m as a new process (node ${process.version}, compiled CLI), Debian x86 trees, cloud-amd64 config; median of ${RUNS} runs; ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), ${load}`);
  for (const g of gens) console.log(`  ${g}: Debian ${data[g].version}`);
  for (const [k, runs] of Object.entries(results)) console.log(row(k, runs));
  const out = { at: new Date().toISOString(), node: process.version, runs: RUNS, load, figures: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, summary(r)])) };
  fs.mkdirSync(path.join(REPO, ".cache", "bench"), { recursive: true });
  fs.writeFileSync(path.join(REPO, ".cache", "bench", "kernel.json"), JSON.stringify(out, null, 2) + "\n");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
