// Runs the Kconfig preflight (bin/kmod-fleet, see kernel/) on the host's exact kernel
// sources and running config before anything is compiled, and the Unknown-symbol doctor
// on the kernel messages of a failed modprobe. The host's Kconfig/Kbuild files are fetched
// into a temporary folder here and analysed locally: the host has no Node.js. The analysis
// runs as the CLI in a child process, not in-process: it stays out of the serialized
// provider code, needs no TypeScript loader in the provider process, and its memory and
// any crash stay out of the process that holds every host's SSH connection
// (docs/architecture.md, "Why the providers look the way they do").
import { join } from "path";
import type { ConnectionSpec } from "../../host/ssh/session";
import { hostCommand, hostStep } from "../../host/hostStep";
import { buildScript } from "./scripts";
import { progress } from "../../host/progress";
import { unpackKernelTree } from "./kernelTreeArchive";
import type { PreflightResult } from "../../kernel/preflight";

/** What the build needs of the preflight's report. */
export type PreflightReport = Pick<PreflightResult, "verdict" | "requests" | "added" | "newModules">;

/**
 * The CLI as [program, ...args], resolved when the program loads and captured by value in
 * the provider. Compiled (the package, dist/), it is the compiled CLI run by this same
 * Node.js, so nothing from devDependencies runs; in the repository (TypeScript through
 * ts-node), it is bin/kmod-fleet, which runs bin/kmod-fleet.ts with tsx.
 */
const cli: string[] = __filename.endsWith(".js") ? [process.execPath, join(__dirname, "..", "..", "bin", "kmod-fleet.js")] : [join(__dirname, "..", "..", "bin", "kmod-fleet")];

/** Exported for the package test: the command the providers run the analysis with. */
export const analysisCommand = (): string[] => [...cli];

export interface KernelOnHost {
  workDir: string;
  /** The host's machine name (`uname -m`, as the host facts record it); probed when absent. */
  arch?: string;
  kernelRelease: string;
  kernelConfig: string;
  timeoutSeconds: number;
}

/** build.sh's environment for reading the tree (of no module set). Exported for the provider tests. */
export function kconfigFilesEnv(k: Pick<KernelOnHost, "workDir" | "kernelRelease">, symbols: string[] = []) {
  return { KERNEL: k.kernelRelease, WORK_DIR: k.workDir, SYMBOLS: symbols.join(" ") };
}

/** Copies the host's Kconfig/Kbuild files, Module.symvers and running config into a temp folder. */
async function fetchKernelTree(conn: ConnectionSpec, k: KernelOnHost, symbols: string[] = []): Promise<{ dir: string; config: string; cleanup: () => void }> {
  const fs = require("fs");
  const os = require("os");
  const path = require("path");
  const tree = await hostStep(conn, `reading the Kconfig tree of ${k.kernelRelease}`, buildScript, "kconfig-files", kconfigFilesEnv(k, symbols), k.timeoutSeconds);
  const config = await hostCommand(conn, "reading the running kernel config", `zcat -f "$KERNEL_CONFIG"`, { KERNEL_CONFIG: k.kernelConfig }, k.timeoutSeconds);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kmod-fleet-${conn.host}-`));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  // Never `tar -x`: it would keep links the host put in, to files of this machine.
  try {
    const { skipped } = unpackKernelTree(conn.host, Buffer.from(tree.stdout.trim(), "base64"), dir);
    if (skipped.length > 0) progress(conn.host, `left out of the kernel tree (links and special files are not unpacked): ${skipped.slice(0, 5).join(", ")}${skipped.length > 5 ? ` and ${skipped.length - 5} more` : ""}`);
  } catch (e) {
    cleanup();
    throw e;
  }
  // Next to the tree; whatever the archive put at that name goes first (the folder holds no links).
  const configPath = path.join(dir, ".running-config");
  fs.rmSync(configPath, { recursive: true, force: true });
  fs.writeFileSync(configPath, config.stdout);
  return { dir, config: configPath, cleanup };
}

/**
 * The analysis's --arch for the host: its machine name, which the CLI maps to arch/<dir>
 * (x86_64 → x86, aarch64 → arm64; Flatcar ships both).
 */
async function archOf(conn: ConnectionSpec, k: KernelOnHost): Promise<string> {
  return (k.arch || (await hostCommand(conn, "reading the host's architecture", "uname -m", {}, k.timeoutSeconds)).stdout).trim();
}

/**
 * Fails (and so builds nothing) when a requested option can never load on this kernel;
 * an `unknown` verdict (exit 3: a Kbuild/Kconfig line the analysis cannot decide) is shown
 * as a warning with the report and the build goes on. Returns the report (the options it
 * adds, the new modules and their files), from which the build takes what to set and build.
 */
export async function runPreflightOnHost(conn: ConnectionSpec, req: KernelOnHost & { options: string[]; set: string }): Promise<PreflightReport> {
  const { spawnSync } = require("child_process");
  const arch = await archOf(conn, req);
  const tree = await fetchKernelTree(conn, req);
  try {
    // An option is built as m unless the set keeps it off (OPTION=n, a "Would work" variant).
    const requests = req.options.map((o) => (o.includes("=") ? o : `${o}=m`));
    progress(conn.host, `preflight: ${requests.join(" ")} on ${req.kernelRelease} (${arch})`);
    const analyse = (json: boolean) =>
      spawnSync(cli[0], [...cli.slice(1), "preflight", "--source", tree.dir, "--config", tree.config, "--arch", arch, ...(json ? ["--json"] : []), ...requests], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const r = analyse(false);
    if (r.status === 1) {
      throw new Error(`${conn.host}: module set ${req.set} can never load on kernel ${req.kernelRelease}; nothing was built.\n${r.stdout.trim()}`);
    }
    if (r.status === 3) {
      progress(conn.host, `WARNING: the preflight could not decide whether ${req.set} can load on ${req.kernelRelease}; building anyway.\n${r.stdout.trim()}`);
    } else if (r.status !== 0) {
      throw new Error(`${conn.host}: the preflight could not run (exit ${r.status}): ${(r.stderr || r.error?.message || "").trim()}`);
    } else {
      progress(conn.host, r.stdout.trim().split("\n")[0] ?? "preflight ok");
    }
    // The same analysis as data: what the build sets and where the new modules are.
    const j = analyse(true);
    if (j.status !== 0 && j.status !== 3) throw new Error(`${conn.host}: the preflight's report could not be read (exit ${j.status}): ${(j.stderr || "").trim()}`);
    return JSON.parse(j.stdout) as PreflightReport;
  } finally {
    tree.cleanup();
  }
}

/** Symbols named by Unknown-symbol, namespace and CRC lines. */
export function symbolsIn(dmesg: string): string[] {
  const found = new Set<string>();
  for (const m of dmesg.matchAll(/Unknown symbol (\S+)|uses symbol (\S+) from namespace|disagrees about version of symbol (\S+)/g)) {
    found.add(m[1] ?? m[2] ?? m[3]);
  }
  return [...found];
}

/** The doctor's reading of the kernel messages of a failed modprobe ("" when it cannot run). */
export async function explainDmesg(conn: ConnectionSpec, k: KernelOnHost, dmesg: string): Promise<string> {
  const { spawnSync } = require("child_process");
  const path = require("path");
  let tree: { dir: string; config: string; cleanup: () => void } | undefined;
  try {
    const arch = await archOf(conn, k);
    tree = await fetchKernelTree(conn, k, symbolsIn(dmesg));
    const args = ["doctor", "--source", tree.dir, "--config", tree.config, "--arch", arch, "--dmesg", "-"];
    const symvers = path.join(tree.dir, "Module.symvers");
    if (require("fs").existsSync(symvers)) args.push("--symvers", symvers);
    const r = spawnSync(cli[0], [...cli.slice(1), ...args], { input: dmesg, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return r.status === 0 || r.status === 1 ? r.stdout.trim() : `(the doctor could not run: ${(r.stderr || "").trim()})`;
  } catch (e: any) {
    return `(the doctor could not read this kernel's sources: ${e?.message ?? e})`;
  } finally {
    tree?.cleanup();
  }
}
