#!/usr/bin/env node
/**
 * kmod-fleet CLI: the kernel analysis on a local tree. All file reading and decompression
 * happens here; kernel/ stays pure.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { KernelModel, doctor, preflight, renderDoctor, renderPreflight, srcarchOf } from "../kernel";
import { defaultCacheDir, loadModel } from "./modelCache";
import { signingAdvice } from "../components/signing";

const USAGE = `usage:
  kmod-fleet preflight --source <kernel tree> --config <.config|config.gz|config.xz>
                       [--arch x86|arm64|x86_64|aarch64] [--json] [--cache <dir> | --no-cache]
                       [--sig-enforced] OPTION=m [OPTION=n ...]
      Predicts what enabling the options does to the running kernel's config, and whether
      they can be built as modules for it. Options may be given with or without CONFIG_;
      a bare name means =m; OPTION=n keeps an optional feature off. A dead end names a
      variant that would work, if one does. --sig-enforced: the host refuses unsigned
      modules (module.sig_enforce=Y, lockdown, Secure Boot); the report says what that means.
  kmod-fleet doctor --source <kernel tree> --config <cfg> [--symvers <Module.symvers>]
                    --dmesg <file or -> [--arch x86] [--json] [--cache <dir> | --no-cache]
      Explains Unknown symbol / CRC / namespace / vermagic lines of a failed modprobe.

  The parsed tree is cached by content in --cache (default $XDG_CACHE_HOME/kmod-fleet/parsed,
  else ~/.cache/kmod-fleet/parsed): the next run on the same files skips the parse.

exit status: 0 ok or no-op (doctor: report printed), 1 dead end (preflight), 2 usage error,
             3 unknown (preflight: a Kbuild/Kconfig line it cannot decide; never taken as ok).`;

class UsageError extends Error {}

function parseArgs(argv: string[], flags: string[], bools: string[]) {
  const values: Record<string, string> = {};
  const set = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") throw new UsageError("");
    if (bools.includes(a)) set.add(a);
    else if (a.startsWith("--")) {
      const [k, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
      if (!flags.includes(k)) throw new UsageError(`unknown option ${k}`);
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${k} needs a value`);
      values[k] = v;
    } else rest.push(a);
  }
  return { values, set, rest };
}

function need(values: Record<string, string>, k: string): string {
  if (!values[k]) throw new UsageError(`${k} is required`);
  return values[k];
}

function sourceRoot(values: Record<string, string>): string {
  const root = need(values, "--source");
  if (!fs.existsSync(path.join(root, "Kconfig"))) throw new UsageError(`--source ${root}: no Kconfig there; give the top of a kernel source tree`);
  return root;
}

/** Where the parse cache is: --cache, none with --no-cache, else the default. */
function cacheDirOf(values: Record<string, string>, set: Set<string>): string | undefined {
  if (set.has("--no-cache") && values["--cache"]) throw new UsageError("--cache and --no-cache exclude each other");
  return set.has("--no-cache") ? undefined : (values["--cache"] ?? defaultCacheDir());
}

/**
 * The parsed tree at --source, from the cache when it holds this tree's files. A tree
 * parsed now is stored by `afterOutput`, once the answer is printed.
 */
let afterOutput: (() => void) | undefined;
async function kernelModel(root: string, arch: string, cacheDir: string | undefined): Promise<KernelModel> {
  const loaded = await loadModel(root, srcarchOf(arch), cacheDir);
  afterOutput = () => {
    const note = loaded.store?.();
    if (note) process.stderr.write(`kmod-fleet: note: ${note}\n`);
  };
  return loaded.model;
}

/** Reads a file or stdin ("-"), decompressing .gz with zlib and .xz with `xz -dc`. */
function readText(file: string, what: string): string {
  if (file === "-") return fs.readFileSync(0, "utf8");
  if (!fs.existsSync(file)) throw new UsageError(`${what} ${file}: no such file`);
  if (file.endsWith(".gz")) return zlib.gunzipSync(fs.readFileSync(file)).toString("utf8");
  if (file.endsWith(".xz")) {
    try {
      return execFileSync("xz", ["-dc", file], { maxBuffer: 256 << 20 }).toString("utf8");
    } catch (err) {
      throw new UsageError(`${what} ${file}: cannot decompress with xz (${(err as Error).message.split("\n")[0]})`);
    }
  }
  return fs.readFileSync(file, "utf8");
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  if (cmd === "preflight") {
    const { values, set, rest } = parseArgs(args, ["--source", "--config", "--arch", "--cache"], ["--json", "--no-cache", "--sig-enforced"]);
    if (!rest.length) throw new UsageError("name at least one option, e.g. DRM_I915=m");
    for (const r of rest) if (!/^(CONFIG_)?[A-Za-z0-9_]+(=[ymn])?$/i.test(r)) throw new UsageError(`'${r}' is not OPTION=m|y|n`);
    const cacheDir = cacheDirOf(values, set);
    const root = sourceRoot(values);
    const config = readText(need(values, "--config"), "--config");
    const r = preflight(await kernelModel(root, values["--arch"] ?? "x86", cacheDir), config, rest);
    if (set.has("--sig-enforced") && r.verdict !== "no-op") {
      r.warnings.push(`the host refuses unsigned modules (--sig-enforced), and modules built outside the kernel's own build are not signed: modprobe will refuse them. ${signingAdvice("")}`);
    }
    process.stdout.write(set.has("--json") ? JSON.stringify(r, null, 2) + "\n" : renderPreflight(r));
    return r.verdict === "dead-end" ? 1 : r.verdict === "unknown" ? 3 : 0;
  }
  if (cmd === "doctor") {
    const { values, set, rest } = parseArgs(args, ["--source", "--config", "--symvers", "--dmesg", "--arch", "--cache"], ["--json", "--no-cache"]);
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    const cacheDir = cacheDirOf(values, set);
    const root = sourceRoot(values);
    const config = readText(need(values, "--config"), "--config");
    const dmesg = readText(need(values, "--dmesg"), "--dmesg");
    const symvers = values["--symvers"] ? readText(values["--symvers"], "--symvers") : undefined;
    const r = doctor(await kernelModel(root, values["--arch"] ?? "x86", cacheDir), config, dmesg, symvers);
    process.stdout.write(set.has("--json") ? JSON.stringify(r, null, 2) + "\n" : renderDoctor(r));
    return 0;
  }
  if (cmd === "help" || cmd === "-h" || cmd === "--help") throw new UsageError("");
  throw new UsageError(cmd ? `unknown command '${cmd}'` : "name a command: preflight or doctor");
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    afterOutput?.();
  },
  (err) => {
    if (err instanceof UsageError) {
      // --help prints the usage on stdout and succeeds; a usage error goes to stderr.
      if (err.message) process.stderr.write(`kmod-fleet: ${err.message}\n\n${USAGE}\n`);
      else process.stdout.write(USAGE + "\n");
      process.exitCode = err.message ? 2 : 0;
    } else {
      process.stderr.write(`kmod-fleet: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 2;
    }
  },
);
