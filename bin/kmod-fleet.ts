#!/usr/bin/env node
/**
 * kmod-fleet CLI: the kernel analysis on a local tree (all file reading and decompression
 * happens here; kernel/ stays pure), and `watch`, the unattended reconcile of a stack (watch.ts).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { KernelModel, doctor, preflight, renderDoctor, renderPreflight } from "../kernel";
import { ARCH_DIRS, archDirOf, knownArchNames } from "../kernel/archSupport";
import { notAConfig } from "../kernel/dotconfig";
import { unknownRequests } from "../kernel/requestNames";
import { COMMANDS, Command, HelpRequest, UsageError, helpText, parseArgs } from "./cliArgs";
import { defaultCacheDir, loadModel } from "../kernel/disk/modelCache";
import { signingAdvice } from "../components/providers/hostFacts/signing";
import { runWatch } from "./watch";

/** The parts of a preflight's or doctor's command line every command checks the same way. */
function need(command: Command, values: Record<string, string>, k: string): string {
  if (!values[k]) throw new UsageError(`${k} is required`, command);
  return values[k];
}

function sourceRoot(command: Command, values: Record<string, string>): string {
  const root = need(command, values, "--source");
  if (!isFile(path.join(root, "Kconfig"))) throw new UsageError(`--source ${root}: no Kconfig file there; give the top of a kernel source tree`, command);
  return root;
}

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

/** arch/<dir> for --arch (default x86); the tree must have that architecture's Kconfig. */
function archOf(command: Command, values: Record<string, string>, root: string): string {
  const name = values["--arch"] ?? "x86";
  const dir = archDirOf(name);
  if (!dir) throw new UsageError(`--arch ${name}: unknown architecture; accepted: arch/ folders ${ARCH_DIRS.join(" ")}; uname -m names ${knownArchNames().filter((n) => !(ARCH_DIRS as readonly string[]).includes(n)).join(" ")}`, command);
  if (!isFile(path.join(root, "arch", dir, "Kconfig"))) throw new UsageError(`--arch ${name}: this tree has no arch/${dir}/Kconfig, so it cannot be analysed for ${dir}`, command);
  return dir;
}

/** Where the parse cache is: --cache, none with --no-cache, else the default. */
function cacheDirOf(values: Record<string, string>, set: Set<string>): string | undefined {
  return set.has("--no-cache") ? undefined : (values["--cache"] ?? defaultCacheDir());
}

/**
 * The parsed tree at --source, from the cache when it holds this tree's files. A tree
 * parsed now is stored by `afterOutput`, once the answer is printed.
 */
let afterOutput: (() => void) | undefined;
async function kernelModel(root: string, arch: string, cacheDir: string | undefined): Promise<KernelModel> {
  const loaded = await loadModel(root, arch, cacheDir);
  afterOutput = () => {
    const note = loaded.store?.();
    if (note) process.stderr.write(`kmod-fleet: note: ${note}\n`);
  };
  return loaded.model;
}

/**
 * Reads a file or stdin ("-"), decompressing .gz with zlib and .xz with `xz -dc`. What
 * cannot be read is a usage error naming the file, never a stack trace.
 */
function readText(command: Command, file: string, what: string): string {
  if (file === "-") return fs.readFileSync(0, "utf8");
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`${what} ${file}: no such file`, command);
  // Not only regular files: `--config <(zcat config.gz)` is a pipe.
  if (st.isDirectory()) throw new UsageError(`${what} ${file}: is a folder, not a file`, command);
  try {
    if (file.endsWith(".gz")) return zlib.gunzipSync(fs.readFileSync(file)).toString("utf8");
    if (file.endsWith(".xz")) return execFileSync("xz", ["-dc", file], { maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    const how = file.endsWith(".gz") ? "cannot decompress with gzip" : file.endsWith(".xz") ? "cannot decompress with xz" : "cannot read";
    throw new UsageError(`${what} ${file}: ${how} (${firstLine(err)})`, command);
  }
}

const firstLine = (err: unknown): string => String((err as Error)?.message ?? err).split("\n")[0];

/** The running config: read, and refused when it is not a kernel .config. */
function readConfig(command: Command, values: Record<string, string>): string {
  const file = need(command, values, "--config");
  const text = readText(command, file, "--config");
  const problem = notAConfig(text);
  if (problem) throw new UsageError(`--config ${file}: ${problem}`, command);
  return text;
}

/** A requested name no Kconfig of the tree defines is a typo: refused with the nearest names. */
function refuseUnknown(model: KernelModel, requests: string[]): void {
  const unknown = unknownRequests(model, requests);
  if (!unknown.length) return;
  const names = unknown.map((u) => `${u.option}${u.near.length ? ` (did you mean ${u.near.join(", ")}?)` : ""}`);
  throw new UsageError(`no Kconfig file of this tree defines ${names.join(", ")}`, "preflight");
}

async function runPreflight(args: string[]): Promise<number> {
  const { values, set, rest } = parseArgs("preflight", args, ["--source", "--config", "--arch", "--cache"], ["--json", "--no-cache", "--sig-enforced"], ["--config"]);
  if (!rest.length) throw new UsageError("name at least one option, e.g. DRM_I915=m", "preflight");
  const malformed = rest.filter((r) => !/^(CONFIG_)?[A-Za-z0-9_]+(=[ymn])?$/i.test(r));
  if (malformed.length) throw new UsageError(`${malformed.map((r) => `'${r}'`).join(", ")}: not OPTION=m|y|n`, "preflight");
  const cacheDir = cacheDirOf(values, set);
  const root = sourceRoot("preflight", values);
  const arch = archOf("preflight", values, root);
  const config = readConfig("preflight", values);
  const model = await kernelModel(root, arch, cacheDir);
  refuseUnknown(model, rest);
  const r = preflight(model, config, rest);
  if (set.has("--sig-enforced") && r.verdict !== "no-op" && r.verdict !== "not-available") {
    r.warnings.push(`the host refuses unsigned modules (--sig-enforced), and modules built outside the kernel's own build are not signed: modprobe will refuse them. ${signingAdvice("")}`);
  }
  process.stdout.write(set.has("--json") ? JSON.stringify(r, null, 2) + "\n" : renderPreflight(r));
  return r.verdict === "dead-end" || r.verdict === "not-available" ? 1 : r.verdict === "unknown" ? 3 : 0;
}

async function runDoctor(args: string[]): Promise<number> {
  const { values, set, rest } = parseArgs("doctor", args, ["--source", "--config", "--symvers", "--dmesg", "--arch", "--cache"], ["--json", "--no-cache"], ["--config", "--dmesg"]);
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, "doctor");
  if (values["--config"] === "-" && values["--dmesg"] === "-") throw new UsageError("--config and --dmesg cannot both be read from stdin", "doctor");
  const cacheDir = cacheDirOf(values, set);
  const root = sourceRoot("doctor", values);
  const arch = archOf("doctor", values, root);
  const config = readConfig("doctor", values);
  const dmesg = readText("doctor", need("doctor", values, "--dmesg"), "--dmesg");
  const symvers = values["--symvers"] ? readText("doctor", values["--symvers"], "--symvers") : undefined;
  const r = doctor(await kernelModel(root, arch, cacheDir), config, dmesg, symvers);
  process.stdout.write(set.has("--json") ? JSON.stringify(r, null, 2) + "\n" : renderDoctor(r));
  return 0;
}

/**
 * The package's version, from the package.json at its root: two folders up from the
 * compiled dist/bin/kmod-fleet.js, one up from bin/kmod-fleet.ts.
 */
function version(): string {
  for (const up of ["..", "../.."]) {
    const file = path.join(__dirname, up, "package.json");
    try {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "kmod-fleet" && pkg.version) return pkg.version;
    } catch {
      // not there: try the next folder up
    }
  }
  throw new Error("cannot find kmod-fleet's package.json to read its version");
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === "preflight") return runPreflight(args);
  if (cmd === "doctor") return runDoctor(args);
  if (cmd === "watch") return runWatch(args);
  if (cmd === "--version" || cmd === "-V") {
    process.stdout.write(`kmod-fleet ${version()}\n`);
    return 0;
  }
  if (cmd === "help" || cmd === "-h" || cmd === "--help") {
    throw new HelpRequest((COMMANDS as readonly string[]).includes(args[0]) ? (args[0] as Command) : undefined);
  }
  throw new UsageError(cmd ? `unknown command '${cmd}'` : "name a command: preflight, doctor or watch");
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    afterOutput?.();
  },
  (err) => {
    if (err instanceof HelpRequest) {
      process.stdout.write(helpText(err.command) + "\n");
      process.exitCode = 0;
    } else if (err instanceof UsageError) {
      const help = err.command ? `kmod-fleet ${err.command} --help` : "kmod-fleet --help";
      process.stderr.write(`kmod-fleet: ${err.message}\nsee '${help}'\n`);
      process.exitCode = 2;
    } else {
      // An unexpected failure: its message, not a stack trace (KMOD_FLEET_DEBUG=1 shows it).
      process.stderr.write(`kmod-fleet: ${process.env.KMOD_FLEET_DEBUG ? ((err as Error).stack ?? err) : firstLine(err)}\n`);
      process.exitCode = 2;
    }
  },
);
