/**
 * Benchmark of the kernel analysis on one Debian x86 tree (npm run bench:kernel; the
 * generation from BENCH_KERNEL, default 6.1). Needs the data of
 * test/kernel/fetch-kernel-data.sh (it runs it). Prints wall and CPU
 * time per phase (the CPU figure is the honest one on a shared machine) and peak memory.
 * Targets: full preflight including parse < 3 s; doctor < 3 s.
 */
import * as fs from "fs";
import { KernelModel, doctor, preflight } from "../kernel";
import { Evaluation, snapshot } from "../kernel/evaluate";
import { parseDotConfig } from "../kernel/dotconfig";
import { Generation, kernelData, localTree } from "../test/kernel/data";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function measure<T>(fn: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1000 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function row(name: string, runs: { wall: number; cpu: number }[], extra = "") {
  const w = runs.map((r) => r.wall);
  // The first run is what a one-shot CLI call pays (cold JIT); the median is a warm process.
  console.log(`${name.padEnd(34)} first ${w[0].toFixed(0).padStart(5)} ms (${runs[0].cpu.toFixed(0)} cpu), median ${median(w).toFixed(0).padStart(5)} ms wall, ${median(runs.map((r) => r.cpu)).toFixed(0).padStart(5)} ms cpu ${extra}`);
}

const data = kernelData((process.env.BENCH_KERNEL ?? "6.1") as Generation);
console.log(`Debian ${data.version}`);
const tree = localTree(data.src);
const cloud = fs.readFileSync(data.configs["cloud-amd64"] ?? data.configs["amd64"], "utf8");
const symvers = data.cloudSymvers ? fs.readFileSync(data.cloudSymvers, "utf8") : undefined;
const dmesg = [
  "[83845.709910] drm: Unknown symbol hdmi_vendor_infoframe_init (err -2)",
  "[83845.710508] drm: Unknown symbol dma_fence_add_callback (err -2)",
  "[83845.711248] drm: Unknown symbol dma_buf_attach (err -2)",
  "[83845.721771] drm: Unknown symbol sync_file_create (err -2)",
  "[83845.721772] drm_kms_helper: Unknown symbol mipi_dsi_attach (err -2)",
  "[83845.721773] i2c_core: Unknown symbol __i2c_board_list (err -2)",
].join("\n");

const phases: Record<string, { wall: number; cpu: number }[]> = { parse: [], kbuild: [], evaluate: [], preflightFull: [], preflightOnly: [], doctorFull: [], doctorOnly: [] };
let info = "";
for (let i = 0; i < RUNS; i++) {
  // What the CLI and the pipeline do: parse, then one preflight. First, so that its first
  // run is a cold process (nothing compiled by the JIT yet).
  phases.preflightFull.push(measure(() => preflight(new KernelModel(tree), cloud, ["DRM_I915=m"])));
  const p = measure(() => new KernelModel(tree));
  phases.parse.push(p);
  const k = measure(() => p.value.kbuild);
  phases.kbuild.push(k);
  const e = measure(() => snapshot(new Evaluation(p.value.kconfig, parseDotConfig(cloud))));
  phases.evaluate.push(e);
  info = `${p.value.kconfig.files.length} Kconfig files, ${p.value.kconfig.symbols.size} symbols, ${k.value.files.length} makefiles, ${k.value.placements.length} objects`;

  phases.preflightOnly.push(measure(() => preflight(p.value, cloud, ["DRM_I915=m"])));
  phases.doctorFull.push(measure(() => doctor(new KernelModel(tree), cloud, dmesg, symvers)));
  phases.doctorOnly.push(measure(() => doctor(p.value, cloud, dmesg, symvers)));
}

console.log(`kernel analysis benchmark: Debian linux-source 6.1, x86, cloud-amd64 config; ${RUNS} runs, median`);
console.log(info);
row("parse Kconfig", phases.parse);
row("index Kbuild", phases.kbuild);
row("evaluate config (all symbols)", phases.evaluate);
row("preflight DRM_I915=m incl. parse", phases.preflightFull, "(target < 3000)");
row("preflight on a parsed model", phases.preflightOnly);
row("doctor (6 lines) incl. parse", phases.doctorFull, "(target < 3000)");
row("doctor on a parsed model", phases.doctorOnly);
const ru = process.resourceUsage();
console.log(`peak RSS ${(ru.maxRSS / 1024).toFixed(0)} MB; heap used now ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB; load average ${require("os").loadavg().map((x: number) => x.toFixed(1)).join(" ")}`);
