// One module set built once for one kernel and architecture (a group of the build plan,
// components/plan/buildPlan.ts), on the group's builder host inside its verified developer container.
// The .ko files and their manifest go to the artifact store: a folder on the machine that
// runs Pulumi (artifacts/store.ts) or a registry the team shares (artifacts/registryStore.ts);
// every host of the group installs them from there (components/providers/moduleInstall/moduleInstall.ts). A
// missing artifact is taken back from a host that has it installed, or built again, as the
// program decided (`obtain`, shown by the preview).
//
// A failed build does not fail this resource: it records the failure (with the end of the
// log and where the whole log is), and each host of the group reports it once, through its
// install. Nothing is installed anywhere for the group, and every other group goes on.
import * as pulumi from "@pulumi/pulumi";
import { uploadBytes, type ConnectionSpec } from "../../../host/ssh/session";
import type { ModuleSource } from "../../../config/resolve";
import { artifactId, artifactKeyOf, type ArtifactManifest, type ArtifactModule, type ArtifactStore } from "../../../artifacts/store";
import { artifactStoreFor, storeSettingOf, type StoreSetting } from "../../../artifacts/location";
import { hostStep } from "../../../host/hostStep";
import { diffFor, updateFor, type LifecycleContract } from "../lifecycle";
import { buildScript, installScript } from "../scripts";
import { runPreflightOnHost } from "../preflightOnHost";
import { progress } from "../../../host/progress";
import { inTreePlan } from "../../../kernel/inTreePlan";
import { obtainWay } from "../../plan/buildPlan";

export interface ModuleBuildInputs {
  /** The builder's connection (see `builder`). Recorded. */
  connection: ConnectionSpec;
  /** The builder's name in the fleet, chosen by the build plan (the first host by name that runs the kernel and may build). Recorded: another builder builds the next time. */
  builder: string;
  /** The module set's name, `moduleSets[].name`. In the resource's name. */
  set: string;
  /** The kernel the group builds for, from the builder's facts ("" when it could not be probed: nothing is decided). In the resource's name. */
  kernelRelease: string;
  /** The kernel's architecture, from the facts. In the resource's name. */
  arch: string;
  /** The OS release that ships the kernel, whose developer container builds it (messages). Recorded. */
  osVersion?: string;
  /** Path of the running kernel's config on the builder, from its facts ("" when the kernel comes from the image). Read when acting. */
  kernelConfig: string;
  /**
   * The builder does not run this kernel (an update has it staged): its config,
   * Module.symvers and modules come from the developer container of its release. Set by
   * the plan. Read when acting.
   */
  kernelFromImage?: boolean;
  /** The builder's developer container image, `<storage.cacheDir>/<release>/developer_container.bin` (known in advance, not an output, so that a preview can compare it). Recorded. */
  imagePath: string;
  /** The command that puts the kernel sources in the container, `profile.sourcesCommand`. Recorded (the source identity covers what it decides). */
  sourcesCommand: string;
  /** Where the set's sources are, `moduleSets[].source`: a local folder, a git URL and ref, or in-tree options. Recorded (the source identity covers its content). */
  source: ModuleSource;
  /** Absolute local folder of a `dir` source, resolved by the program. Recorded. */
  sourceDir: string;
  /** The hash of that folder's contents (components/sourceHash.ts). Recorded: the source identity carries it. */
  sourceHash: string;
  /** What decides the build's output besides the kernel (components/sourceHash.ts), computed by the program. In place: a new artifact. */
  sourceIdentity: string;
  /** `profile.modulesDir` (a take-back reads the installed files there). Recorded. */
  modulesDir: string;
  /** `storage.workDir` on the builder: sources, jobs, logs. Recorded: the next build runs there. */
  workDir: string;
  /**
   * How the artifact is had this run, as the program decided: "stored", "take back from h2"
   * or "build on h1". The outputs say "stored" once it is in the store. In place: a value
   * other than "stored" obtains it again.
   */
  obtain: string;
  /** With "take back from <host>": that host's connection. Recorded. */
  takeBackFrom?: ConnectionSpec;
  /** Bound of the build step, `hosts[].buildTimeoutSeconds` of the builder. Recorded. */
  buildTimeoutSeconds: number;
  /** Bound of the other steps, `hosts[].commandTimeoutSeconds` of the builder. Recorded. */
  commandTimeoutSeconds: number;
}

export interface Leftovers {
  host: string;
  connection: ConnectionSpec;
  /** The work dir the build used there (absent in state from before: the build's own). */
  workDir?: string;
}

export interface ModuleBuildOutputs extends ModuleBuildInputs {
  /** The artifact in the store ("" when there is none yet). */
  artifactId: string;
  manifest: ArtifactManifest | null;
  /** "" or why the last attempt failed: what every host of the group reports. */
  failure: string;
  /** What the last attempt did: "built on h1", "taken back from h2", "found in the store". */
  obtained: string;
  /** The store entry was written by this resource: destroy removes it (and only such entries). */
  ownsEntry: boolean;
  /** Hosts a build ran on: job folder, log, kernel sources; destroy removes them. */
  leftoversOn: Leftovers[];
  logPath: string;
  /** Observed by read: the artifact is whole in the store. */
  inStore: boolean;
}

/**
 * The build's artifact is what it keeps up to date, in the local store; the hosts' modules
 * are their installs'. A new source identity (new sources, another sources command), an
 * artifact the store lacks (the program's `obtain` is no longer "stored", or read found it
 * gone) or a failed last attempt obtains the artifact again: an update in place, the old
 * artifact stays in the store and installed on the hosts until the new one is whole. What
 * only says how or where to build (the builder and its connection, config and image, the
 * folders, the source's parts whose content the identity already covers) is recorded for
 * the next build and for destroy. Kernel, architecture and set are in the resource's name.
 */
export const moduleBuildLifecycle: LifecycleContract<ModuleBuildInputs> = {
  resource: "ModuleBuild",
  recorded: ["connection", "builder", "osVersion", "imagePath", "sourcesCommand", "source", "sourceDir", "sourceHash", "modulesDir", "workDir", "takeBackFrom", "buildTimeoutSeconds", "commandTimeoutSeconds"],
  // A staged kernel's build reads its config from the developer container; once the builder
  // runs that kernel, from the host: the same config, and the artifact stays as it is.
  readWhenActing: ["kernelConfig", "kernelFromImage"],
  inPlace: ["sourceIdentity", "obtain"],
  // The store's folder: now read where the provider runs (artifacts/location.ts).
  retired: ["storePath"],
  // Another artifact (store entry); the hosts install it into another kernel's folder.
  elsewhere: ["set", "kernelRelease", "arch"],
  drifted: (olds: ModuleBuildOutputs) => !olds.artifactId || (olds.failure ?? "") !== "" || olds.inStore === false,
  undecidable: (news) => !news.kernelRelease,
  // The leftovers keep the work dir they were made in (state from before recorded none:
  // the build's own); the way to reach the builder is also the way to its leftovers.
  recordedCopies: (olds: ModuleBuildOutputs, news) => ({
    leftoversOn: (olds.leftoversOn ?? []).map((l) => ({ ...l, workDir: l.workDir ?? olds.workDir, ...(l.host === news.builder ? { connection: news.connection } : {}) })),
  }),
};

export function diffModuleBuild(olds: ModuleBuildOutputs, news: ModuleBuildInputs): pulumi.dynamic.DiffResult {
  return diffFor(moduleBuildLifecycle, olds, news);
}

function env(p: ModuleBuildInputs, extra: Record<string, string> = {}) {
  const s = p.source;
  return {
    KERNEL: p.kernelRelease,
    SET: p.set,
    IMAGE: p.imagePath,
    WORK_DIR: p.workDir,
    MODULES_DIR: p.modulesDir,
    KERNEL_CONFIG: p.kernelConfig,
    KERNEL_FROM_IMAGE: String(p.kernelFromImage === true),
    SOURCES_COMMAND: p.sourcesCommand,
    SOURCE_KIND: s.kind,
    OPTIONS: s.kind === "inTree" ? s.options.join(" ") : "",
    DIRECTORIES: s.kind === "inTree" ? s.directories.join(" ") : "",
    GIT_URL: s.kind === "git" ? s.url : "",
    GIT_REF: s.kind === "git" ? s.ref : "",
    BUILD_HOST: p.builder,
    ...extra,
  };
}

/** A tar.gz of the set's local folder, without build products. */
function archiveOf(dir: string): Buffer {
  const { execFileSync } = require("child_process");
  return execFileSync("tar", ["-C", dir, "-cz", "--exclude=*.o", "--exclude=*.ko", "--exclude=.*.cmd", "--exclude=*.mod*", "--exclude=Module.symvers", "--exclude=modules.order", "."], { maxBuffer: 256 * 1024 * 1024 });
}

/** `module=<name> <sha256> <size> <srcversion|-> <vermagic ...>` lines of build.sh. */
export function parseBuilt(lines: string[] = []): ArtifactModule[] {
  return lines.map((l) => {
    const [name, sha256, size, srcversion, ...vermagic] = l.split(" ");
    return { name, sha256, size: Number(size), srcversion: srcversion === "-" ? "" : srcversion, vermagic: vermagic.join(" ") };
  });
}

/** `file=<name> <base64>` lines of build.sh and install.sh (fetch). */
export function parseFiles(lines: string[] = []): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const l of lines) {
    const at = l.indexOf(" ");
    files.set(l.slice(0, at), Buffer.from(l.slice(at + 1), "base64"));
  }
  return files;
}

/** Builds on the builder and fetches the result: the manifest and the files, not yet stored. */
async function buildOnBuilder(p: ModuleBuildInputs): Promise<{ manifest: ArtifactManifest; files: Map<string, Buffer>; logPath: string }> {
  if (p.kernelFromImage) {
    // The kernel of a staged release: its sources and config from that release's developer
    // container, before anything is compiled (the preflight reads that config too).
    const r = await hostStep(p.connection, `preparing kernel sources for ${p.kernelRelease} (staged on ${p.builder})`, buildScript, "sources", env(p), p.buildTimeoutSeconds);
    if (!r.values.kernelConfig) throw new Error(`${p.builder}: cannot build ${p.set} for ${p.kernelRelease}: the developer container has no /usr/lib/modules/${p.kernelRelease}/build/.config`);
    p = { ...p, kernelConfig: r.values.kernelConfig };
  }
  if (!p.kernelConfig) {
    throw new Error(`${p.builder}: cannot build ${p.set}: the running kernel's config was not found (tried kernelConfigSources; Flatcar has /proc/config.gz)`);
  }
  const extra: Record<string, string> = {};
  if (p.source.kind === "inTree") {
    await hostStep(p.connection, `preparing kernel sources for ${p.kernelRelease}`, buildScript, "sources", env(p), p.buildTimeoutSeconds);
    const report = await runPreflightOnHost(p.connection, { workDir: p.workDir, arch: p.arch, kernelRelease: p.kernelRelease, kernelConfig: p.kernelConfig, options: p.source.options, set: p.set, timeoutSeconds: p.commandTimeoutSeconds });
    // The user writes the options they want; the build sets what they depend on too, and
    // builds where the new modules are (or where the user said, once checked).
    const plan = inTreePlan(report, p.source.directories);
    if (plan.problems.length > 0) throw new Error(`${p.builder}: module set ${p.set}: ${plan.problems.join("; ")}`);
    extra.OPTIONS = plan.options.join(" ");
    extra.DIRECTORIES = plan.directories.join(" ");
    progress(p.builder, `${p.set}: setting ${extra.OPTIONS}; building in ${extra.DIRECTORIES}`);
  }
  if (p.source.kind === "dir") {
    const archive = `${p.workDir}/uploads/${p.set}-${p.kernelRelease}.tar.gz`;
    await uploadBytes(p.connection, archiveOf(p.sourceDir), archive, p.commandTimeoutSeconds);
    extra.SOURCE_ARCHIVE = archive;
  }
  const r = await hostStep(p.connection, `building ${p.set} for ${p.kernelRelease}`, buildScript, "build", env(p, extra), p.buildTimeoutSeconds);
  const fetched = await hostStep(p.connection, `fetching ${p.set} for ${p.kernelRelease} into the artifact store`, buildScript, "fetch", env(p), p.commandTimeoutSeconds);
  const manifest: ArtifactManifest = { ...artifactKeyOf(p), modules: parseBuilt(r.lists.module), builtOn: p.builder, builtAt: new Date().toISOString() };
  return { manifest, files: parseFiles(fetched.lists.file), logPath: r.values.logPath ?? "" };
}

/**
 * The files of an installed artifact, from a host that has it, checked against the
 * manifest recorded in state; the manifest the store holds (another run's, if it stored one first).
 */
async function takeBack(p: ModuleBuildInputs, manifest: ArtifactManifest, store: ArtifactStore): Promise<ArtifactManifest> {
  const conn = p.takeBackFrom!;
  const r = await hostStep(
    conn,
    `taking ${p.set} for ${p.kernelRelease} back into the artifact store`,
    installScript,
    "fetch",
    { KERNEL: p.kernelRelease, SET: p.set, MODULES_DIR: p.modulesDir, ARTIFACT: artifactId(manifest) },
    p.commandTimeoutSeconds,
  );
  // put() checks every file's sha256 and size against the manifest.
  return (await store.put(manifest, parseFiles(r.lists.file))).manifest;
}

/** What every host of the group reports when the build failed. */
export function failureReport(p: Pick<ModuleBuildInputs, "set" | "kernelRelease" | "arch" | "builder" | "osVersion">, error: unknown): string {
  const message = String((error as any)?.message ?? error);
  const release = p.osVersion ? `, OS ${p.osVersion}` : "";
  return `the build of ${p.set} for ${p.kernelRelease} (${p.arch}${release}) on ${p.builder} failed:\n${message}`;
}

function withLeftovers(list: Leftovers[], host: string, connection: ConnectionSpec, workDir: string): Leftovers[] {
  return [...list.filter((l) => l.host !== host || (l.workDir !== undefined && l.workDir !== workDir)), { host, connection, workDir }];
}

async function obtainArtifact(store: ArtifactStore, p: ModuleBuildInputs, olds?: ModuleBuildOutputs): Promise<ModuleBuildOutputs> {
  const key = artifactKeyOf(p);
  const id = artifactId(key);
  const previous = {
    artifactId: olds?.artifactId ?? "",
    manifest: olds?.manifest ?? null,
    ownsEntry: olds?.ownsEntry ?? false,
    leftoversOn: olds?.leftoversOn ?? [],
    logPath: olds?.logPath ?? "",
  };
  // The old artifact's store entry goes once a new one (another source) is in place.
  const dropPrevious = async () => {
    if (previous.ownsEntry && previous.manifest && previous.artifactId !== id) await store.remove(artifactKeyOf(previous.manifest));
  };

  // Once the artifact is whole in the store, that is how the next run has it. (Outputs
  // cannot hold undefined: takeBackFrom is left out, not set to undefined.)
  const { takeBackFrom: _takeBackFrom, ...rest } = p;
  const had = { obtain: "stored" };
  const found = await store.get(key);
  // A host's files are taken back only against the manifest in state: the program saw them installed, and
  // the state holds the manifest of that artifact (not one replaced in the store since).
  const checkable = p.takeBackFrom && previous.manifest && previous.artifactId === id ? p.takeBackFrom.host : undefined;
  const way = obtainWay({ stored: found !== undefined, ...(checkable ? { installedOn: checkable } : {}), builder: p.builder });
  if (found && way.kind === "stored") {
    await dropPrevious();
    const owns = previous.artifactId === id && previous.ownsEntry;
    return { ...rest, ...previous, ...had, artifactId: id, manifest: found.manifest, ownsEntry: owns, failure: "", obtained: "found in the store", inStore: true };
  }

  if (p.takeBackFrom && way.kind !== "take-back") {
    progress(p.takeBackFrom.host, `${p.set} for ${p.kernelRelease} is not taken back: no manifest of it is recorded to check its files against; building it on ${p.builder} instead`);
  } else if (p.takeBackFrom && previous.manifest) {
    try {
      const manifest = await takeBack(p, previous.manifest, store);
      return { ...rest, ...previous, ...had, artifactId: id, manifest, ownsEntry: true, failure: "", obtained: `taken back from ${p.takeBackFrom.host}`, inStore: true };
    } catch (e: any) {
      const reason = String(e?.message ?? e).split("\n").map((l) => l.trim()).filter(Boolean).join(" / ");
      progress(p.takeBackFrom.host, `could not take ${p.set} for ${p.kernelRelease} back (${reason}); building it on ${p.builder} instead`);
    }
  }

  const leftoversOn = withLeftovers(previous.leftoversOn, p.builder, p.connection, p.workDir);
  try {
    const built = await buildOnBuilder(p);
    // Another run may have stored this artifact first: both use the one the store keeps.
    const stored = await store.put(built.manifest, built.files);
    await dropPrevious();
    return { ...rest, ...previous, ...had, artifactId: id, manifest: stored.manifest, ownsEntry: true, failure: "", obtained: `built on ${p.builder}`, leftoversOn, logPath: built.logPath, inStore: true };
  } catch (e) {
    progress(p.builder, `the build of ${p.set} for ${p.kernelRelease} failed; every host that installs it reports the error`);
    return { ...p, ...previous, failure: failureReport(p, e), obtained: `build on ${p.builder} failed`, leftoversOn, logPath: `${p.workDir}/logs/${p.set}-${p.kernelRelease}.log`, inStore: false };
  }
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const moduleBuildProvider: pulumi.dynamic.ResourceProvider & StoreSetting = {
  async configure(req: pulumi.dynamic.ConfigureRequest) {
    Object.assign(this, storeSettingOf(req.config));
  },
  async create(inputs: ModuleBuildInputs) {
    return { id: `build:${inputs.set}:${inputs.kernelRelease}:${inputs.arch}`, outs: await obtainArtifact(artifactStoreFor(this), inputs) };
  },
  async read(id: string, props: ModuleBuildOutputs) {
    let inStore = false;
    if (props.manifest) {
      // get() checks every file's sha256, so a damaged blob is drift too.
      const found = await artifactStoreFor(this).get(artifactKeyOf(props.manifest));
      inStore = found !== undefined && JSON.stringify(found.manifest.modules.map((m) => m.sha256)) === JSON.stringify(props.manifest.modules.map((m) => m.sha256));
    }
    return { id, props: { ...props, inStore } };
  },
  async diff(_id: string, olds: ModuleBuildOutputs, news: ModuleBuildInputs) {
    return diffModuleBuild(olds, news);
  },
  async update(_id: string, olds: ModuleBuildOutputs, news: ModuleBuildInputs) {
    return updateFor(moduleBuildLifecycle, olds, news, { remake: () => obtainArtifact(artifactStoreFor(this), news, olds) });
  },
  async delete(_id: string, props: ModuleBuildOutputs) {
    for (const l of props.leftoversOn ?? []) {
      await hostStep(l.connection, `removing what the build of ${props.set} for ${props.kernelRelease} left`, buildScript, "delete", { KERNEL: props.kernelRelease, SET: props.set, WORK_DIR: l.workDir ?? props.workDir }, props.commandTimeoutSeconds);
    }
    if (props.ownsEntry && props.manifest) await artifactStoreFor(this).remove(artifactKeyOf(props.manifest));
  },
};

export type ModuleBuildArgs = { [K in keyof ModuleBuildInputs]: pulumi.Input<ModuleBuildInputs[K]> };

export class ModuleBuild extends pulumi.dynamic.Resource {
  public declare readonly artifactId: pulumi.Output<string>;
  public declare readonly manifest: pulumi.Output<ArtifactManifest | null>;
  public declare readonly failure: pulumi.Output<string>;
  public declare readonly obtained: pulumi.Output<string>;
  public declare readonly logPath: pulumi.Output<string>;

  constructor(name: string, args: ModuleBuildArgs, opts?: pulumi.CustomResourceOptions) {
    const outputs = { artifactId: undefined, manifest: undefined, failure: undefined, obtained: undefined, ownsEntry: undefined, leftoversOn: undefined, logPath: undefined, inStore: undefined };
    super(moduleBuildProvider, name, { ...args, ...outputs }, { ...opts, additionalSecretOutputs: ["connection", "takeBackFrom", "leftoversOn"] }, "kmod-fleet", "ModuleBuild");
  }
}
