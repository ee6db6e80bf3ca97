// One module set built for the host's running kernel inside the verified developer
// container, installed under <modules dir>/<kernel>/extra/<set>/ (staged, then swapped in)
// and indexed by depmod. The outputs record each module's sha256 and vermagic; read
// compares them with what is on the host, so a deleted or altered .ko is drift.
import * as pulumi from "@pulumi/pulumi";
import { uploadBytes, type ConnectionSpec } from "../ssh/session";
import type { ModuleSource } from "../config/resolve";
import { hostStep } from "./hostStep";
import { diffFor, recordOnly, updateKind, type LifecycleContract } from "./lifecycle";
import { buildScript } from "./scripts";
import { runPreflightOnHost } from "./preflightOnHost";
import { progress } from "./progress";
import { inTreePlan } from "../kernel/inTreePlan";

export interface BuiltModule {
  name: string;
  sha256: string;
  vermagic: string;
}

export interface ModuleBuildInputs {
  connection: ConnectionSpec;
  set: string;
  kernelRelease: string;
  /** Path of the running kernel's config on the host. */
  kernelConfig: string;
  imagePath: string;
  sourcesCommand: string;
  source: ModuleSource;
  /** Local folder of a `dir` source, and the hash of its contents (what decides a rebuild). */
  sourceDir: string;
  sourceHash: string;
  modulesDir: string;
  workDir: string;
  buildTimeoutSeconds: number;
  commandTimeoutSeconds: number;
}

export interface ModuleBuildOutputs extends ModuleBuildInputs {
  modules: BuiltModule[];
  installDir: string;
  logPath: string;
  /** Observed by read: what differs on the host from what was built ([] when nothing). */
  drift: string[];
}

/**
 * Nothing that works is removed before its replacement works. A new build for the same
 * folder (a source edit, a new sources command or image) is an update: the build script
 * swaps it in only once it is built, so a failed build leaves the installed one in place
 * and loaded. A new kernel installs into another folder: the new build is created first,
 * and the old one deleted after.
 */
export const moduleBuildLifecycle: LifecycleContract<ModuleBuildInputs> = {
  resource: "ModuleBuild",
  recorded: ["connection", "sourceDir", "buildTimeoutSeconds", "commandTimeoutSeconds"],
  inPlace: ["kernelConfig", "imagePath", "sourcesCommand", "source", "sourceHash", "workDir"],
  // <modules dir>/<kernel>/extra/<set>
  elsewhere: ["set", "kernelRelease", "modulesDir"],
  drifted: (olds: ModuleBuildOutputs) => (olds.drift ?? []).length > 0,
  // The host could not be probed: its facts are unknown, and nothing can be decided.
  undecidable: (news) => !news.kernelRelease,
};

export function diffModuleBuild(olds: ModuleBuildOutputs, news: ModuleBuildInputs): pulumi.dynamic.DiffResult {
  return diffFor(moduleBuildLifecycle, olds, news);
}

/** What read found, compared with what was built. */
export function findDrift(built: BuiltModule[], kernelRelease: string, probe: { installed: boolean; found: (BuiltModule & { known: boolean })[] }): string[] {
  if (!probe.installed) return ["the install folder is gone"];
  const drift: string[] = [];
  for (const m of built) {
    const f = probe.found.find((x) => x.name === m.name);
    if (!f) drift.push(`${m.name}.ko is missing`);
    else if (f.sha256 !== m.sha256) drift.push(`${m.name}.ko was changed (sha256 ${f.sha256.slice(0, 12)}…, built ${m.sha256.slice(0, 12)}…)`);
    else if (f.vermagic !== kernelRelease) drift.push(`${m.name}.ko has vermagic ${f.vermagic}, not ${kernelRelease}`);
    else if (!f.known) drift.push(`${m.name}.ko is not in modules.dep (depmod)`);
  }
  return drift;
}

function parseModules(lines: string[] = []): (BuiltModule & { known: boolean })[] {
  return lines.map((l) => {
    const [name, sha256, vermagic, known] = l.split(" ");
    return { name, sha256, vermagic, known: known === "true" };
  });
}

function env(p: ModuleBuildInputs, action: string, extra: Record<string, string> = {}) {
  const s = p.source;
  return {
    ACTION: action,
    KERNEL: p.kernelRelease,
    SET: p.set,
    IMAGE: p.imagePath,
    WORK_DIR: p.workDir,
    MODULES_DIR: p.modulesDir,
    KERNEL_CONFIG: p.kernelConfig,
    SOURCES_COMMAND: p.sourcesCommand,
    SOURCE_KIND: s.kind,
    OPTIONS: s.kind === "inTree" ? s.options.join(" ") : "",
    DIRECTORIES: s.kind === "inTree" ? s.directories.join(" ") : "",
    GIT_URL: s.kind === "git" ? s.url : "",
    GIT_REF: s.kind === "git" ? s.ref : "",
    ...extra,
  };
}

/** A tar.gz of the set's local folder, without build products. */
function archiveOf(dir: string): Buffer {
  const { execFileSync } = require("child_process");
  return execFileSync("tar", ["-C", dir, "-cz", "--exclude=*.o", "--exclude=*.ko", "--exclude=.*.cmd", "--exclude=*.mod*", "--exclude=Module.symvers", "--exclude=modules.order", "."], { maxBuffer: 256 * 1024 * 1024 });
}

/** `replacing`: a build is installed in the same folder and must stay if this one fails. */
async function build(p: ModuleBuildInputs, replacing = false): Promise<ModuleBuildOutputs> {
  if (!p.kernelConfig) {
    throw new Error(`${p.connection.host}: cannot build ${p.set}: the running kernel's config was not found (tried kernelConfigSources; Flatcar has /proc/config.gz)`);
  }
  const extra: Record<string, string> = {};
  if (p.source.kind === "inTree") {
    await hostStep(p.connection, `preparing kernel sources for ${p.kernelRelease}`, buildScript, env(p, "sources"), p.buildTimeoutSeconds);
    try {
      const report = await runPreflightOnHost(p.connection, { workDir: p.workDir, kernelRelease: p.kernelRelease, kernelConfig: p.kernelConfig, options: p.source.options, set: p.set, timeoutSeconds: p.commandTimeoutSeconds });
      // The user writes the options they want; the build sets what they depend on too,
      // and builds where the new modules are (or where the user said, once checked).
      const plan = inTreePlan(report, p.source.directories);
      if (plan.problems.length > 0) throw new Error(`${p.connection.host}: module set ${p.set}: ${plan.problems.join("; ")}`);
      extra.OPTIONS = plan.options.join(" ");
      extra.DIRECTORIES = plan.directories.join(" ");
      progress(p.connection.host, `${p.set}: setting ${extra.OPTIONS}; building in ${extra.DIRECTORIES}`);
    } catch (e) {
      // A refused new set never enters the state, so nothing would delete its job folder
      // later; a refused rebuild leaves everything to the build it would have replaced.
      if (!replacing) await hostStep(p.connection, `cleaning up ${p.set}`, buildScript, env(p, "delete"), p.commandTimeoutSeconds).catch(() => undefined);
      throw e;
    }
  }
  if (p.source.kind === "dir") {
    const archive = `${p.workDir}/uploads/${p.set}-${p.kernelRelease}.tar.gz`;
    await uploadBytes(p.connection, archiveOf(p.sourceDir), archive, p.commandTimeoutSeconds);
    extra.SOURCE_ARCHIVE = archive;
  }
  const r = await hostStep(p.connection, `building ${p.set} for ${p.kernelRelease}`, buildScript, env(p, "build", extra), p.buildTimeoutSeconds);
  const modules = parseModules(r.lists.module).map(({ name, sha256, vermagic }) => ({ name, sha256, vermagic }));
  return { ...p, modules, installDir: r.values.installDir ?? "", logPath: r.values.logPath ?? "", drift: [] };
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const moduleBuildProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ModuleBuildInputs) {
    return { id: `${inputs.connection.host}:${inputs.set}:${inputs.kernelRelease}`, outs: await build(inputs) };
  },
  async read(id: string, props: ModuleBuildOutputs) {
    const r = await hostStep(props.connection, `checking the modules of ${props.set}`, buildScript, env(props, "probe"), props.commandTimeoutSeconds);
    const drift = findDrift(props.modules, props.kernelRelease, { installed: r.values.installed === "true", found: parseModules(r.lists.module) });
    return { id, props: { ...props, drift } };
  },
  async diff(_id: string, olds: ModuleBuildOutputs, news: ModuleBuildInputs) {
    return diffModuleBuild(olds, news);
  },
  async update(_id: string, olds: ModuleBuildOutputs, news: ModuleBuildInputs) {
    if (updateKind(moduleBuildLifecycle, olds, news) === "record") return { outs: recordOnly(moduleBuildLifecycle, olds, news) };
    const outs = await build(news, true);
    // A new work dir: the old one's job folder, log and kernel tree go once the new build is in.
    if (olds.workDir !== news.workDir) {
      await hostStep(olds.connection, `removing ${olds.set}'s files from ${olds.workDir}`, buildScript, env(olds, "forget"), olds.commandTimeoutSeconds);
    }
    return { outs };
  },
  async delete(_id: string, props: ModuleBuildOutputs) {
    await hostStep(props.connection, `removing ${props.set} built for ${props.kernelRelease}`, buildScript, env(props, "delete"), props.commandTimeoutSeconds);
  },
};

export type ModuleBuildArgs = { [K in keyof ModuleBuildInputs]: pulumi.Input<ModuleBuildInputs[K]> };

export class ModuleBuild extends pulumi.dynamic.Resource {
  public declare readonly modules: pulumi.Output<BuiltModule[]>;
  public declare readonly installDir: pulumi.Output<string>;
  public declare readonly logPath: pulumi.Output<string>;
  public declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: ModuleBuildArgs, opts?: pulumi.CustomResourceOptions) {
    super(moduleBuildProvider, name, { ...args, modules: undefined, installDir: undefined, logPath: undefined, drift: undefined }, { ...opts, additionalSecretOutputs: ["connection"] }, "kmod-fleet", "ModuleBuild");
  }
}
