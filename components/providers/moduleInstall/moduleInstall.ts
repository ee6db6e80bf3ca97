// A built artifact installed on one host: its .ko files uploaded from the local artifact
// store, or pulled by the host from the registry store (artifacts/location.ts),
// their sha256 and vermagic checked on the host before anything is staged, then swapped
// into <modules dir>/<kernel>/extra/<set>/ and indexed by depmod (components/providers/moduleInstall/install.sh);
// for a kernel staged for the next boot, depmod runs at that kernel's first boot.
// A new artifact (new sources) is an update in place: the previous modules stay until the
// new ones are verified and swapped in, so a failed build or install never removes them.
// A kernel update is a replacement, created next to the old one (another kernel's folder)
// before the old one is deleted. read compares the host with the manifest, so a deleted
// or altered .ko is drift, repaired by installing the same artifact again: no rebuild.
import * as pulumi from "@pulumi/pulumi";
import { uploadBytes, type ConnectionSpec } from "../../../host/ssh/session";
import { artifactId, artifactKeyOf, type ArtifactManifest, type ArtifactStore } from "../../../artifacts/store";
import type { RegistryAccess } from "../../../artifacts/oras";
import { localStore, storeSettingOf, type StoreSetting } from "../../../artifacts/location";
import { hostPullPlan, pullList } from "../../../artifacts/hostPull";
import { RegistryArtifactStore } from "../../../artifacts/registryStore";
import { hostStep } from "../../../host/hostStep";
import { diffFor, updateFor, UNKNOWN_IN_PREVIEW, type LifecycleContract } from "../lifecycle";
import { buildScript, installScript } from "../scripts";

export interface InstalledModule {
  name: string;
  sha256: string;
  vermagic: string;
}

export interface ModuleInstallInputs {
  /** How to reach the host over SSH (address, user, pinned host keys, credentials as Pulumi secrets), from `hosts[]` and the secret config. Recorded: a new one is stored, nothing runs. */
  connection: ConnectionSpec;
  /** The module set's name, `moduleSets[].name`: the folder extra/<set>. Elsewhere. */
  set: string;
  /** The kernel of the boot slot this install is for, from the host's facts (running or staged; "" when the host could not be probed: nothing is decided). Elsewhere: another kernel's folder. */
  kernelRelease: string;
  /** `profile.modulesDir`, through whose overlay the files are installed. Elsewhere. */
  modulesDir: string;
  /** `storage.workDir`: uploads, staging, and the previous install kept aside. Recorded. */
  workDir: string;
  /** The group's builder, chosen by the build plan (messages). Recorded. */
  builder: string;
  /** The artifact to install, set by the program: known when it runs (a hash of its key), so a preview can compare it. In place: swapped in. */
  artifactId: string;
  /** Its manifest, the build's output, once the build has the artifact (null when it has none; not known in a preview where the build changes: the old one stands in). Recorded. */
  manifest: ArtifactManifest | null;
  /** "" or why there is nothing to install: the group's build failed (the build's output), or no host may build it (the plan). In place: the update reports it and changes nothing. */
  buildFailure: string;
  /** Bound of each step on the host, from `hosts[].commandTimeoutSeconds`. Recorded. */
  commandTimeoutSeconds: number;
}

export interface ModuleInstallOutputs extends ModuleInstallInputs {
  modules: InstalledModule[];
  installDir: string;
  /** How the files reached the host: pulled by it from the registry store, or uploaded from the operator's local store. */
  filesFrom?: string;
  /** Observed by read: what differs on the host from what was installed ([] when nothing). */
  drift: string[];
}

/** A failure the install must report; one not known yet (in a preview) is none. */
export function knownFailure(buildFailure: unknown): string {
  return typeof buildFailure === "string" && buildFailure !== UNKNOWN_IN_PREVIEW ? buildFailure : "";
}

/**
 * A new artifact is swapped into the set's folder in place: verified and staged first, the
 * previous modules kept until the new ones are indexed (and kept aside until they load).
 * A build failure to report is an update too, one that fails and leaves the folder as it
 * is. Another kernel or modules dir is another folder: the new install is made next to the
 * old one, which goes after. The builder, the manifest (it comes with the artifact id)
 * and the way to reach the host are recorded; the store's folder is no input (it is read
 * where the provider runs, artifacts/location.ts), so state from before may hold it.
 */
export const moduleInstallLifecycle: LifecycleContract<ModuleInstallInputs> = {
  resource: "ModuleInstall",
  recorded: ["connection", "workDir", "builder", "manifest", "commandTimeoutSeconds"],
  retired: ["storePath"],
  inPlace: ["artifactId", "buildFailure"],
  // <modules dir>/<kernel>/extra/<set>
  elsewhere: ["set", "kernelRelease", "modulesDir"],
  drifted: (olds: ModuleInstallOutputs) => (olds.drift ?? []).length > 0,
  // The host could not be probed: its kernel is unknown, and nothing can be decided.
  undecidable: (news) => !news.kernelRelease,
  // In a preview where the build changes, its manifest and failure are not known yet: what
  // the install does follows from the artifact id, known when the program runs, so those
  // are no change by themselves (a failure is reported when it is known, by the update).
  unknownInPreview: { manifest: { old: true }, buildFailure: { value: "" } },
  // State from before build failures were reported holds none.
  absentMeans: { buildFailure: "" },
};

export function diffModuleInstall(olds: ModuleInstallOutputs, news: ModuleInstallInputs): pulumi.dynamic.DiffResult {
  return diffFor(moduleInstallLifecycle, olds, news);
}

/** What read found, compared with what was installed. */
export function findDrift(installed: InstalledModule[], kernelRelease: string, probe: { installed: boolean; artifact?: string; found: (InstalledModule & { known: boolean })[] }, expectedArtifact?: string): string[] {
  if (!probe.installed) return ["the install folder is gone"];
  const drift: string[] = [];
  if (expectedArtifact && probe.artifact !== undefined && probe.artifact !== expectedArtifact) drift.push(`the install folder holds another artifact (${probe.artifact.slice(0, 12) || "none"}…)`);
  for (const m of installed) {
    const f = probe.found.find((x) => x.name === m.name);
    if (!f) drift.push(`${m.name}.ko is missing`);
    else if (f.sha256 !== m.sha256) drift.push(`${m.name}.ko was changed (sha256 ${f.sha256.slice(0, 12)}…, installed ${m.sha256.slice(0, 12)}…)`);
    else if (f.vermagic !== kernelRelease) drift.push(`${m.name}.ko has vermagic ${f.vermagic}, not ${kernelRelease}`);
    else if (!f.known) drift.push(`${m.name}.ko is not in modules.dep (depmod)`);
  }
  return drift;
}

function parseProbe(lines: string[] = []): (InstalledModule & { known: boolean })[] {
  return lines.map((l) => {
    const [name, sha256, vermagic, known] = l.split(" ");
    return { name, sha256, vermagic, known: known === "true" };
  });
}

function env(p: ModuleInstallInputs) {
  return { KERNEL: p.kernelRelease, SET: p.set, MODULES_DIR: p.modulesDir, WORK_DIR: p.workDir };
}

async function install(setting: StoreSetting, p: ModuleInstallInputs): Promise<ModuleInstallOutputs> {
  const host = p.connection.host;
  if (!p.kernelRelease) throw new Error(`${host}: cannot install ${p.set}: the host's kernel is not known (it could not be probed)`);
  const failure = knownFailure(p.buildFailure);
  if (failure) throw new Error(`${host}: cannot install ${p.set} for ${p.kernelRelease}: ${failure}`);
  const manifest = p.manifest;
  if (!manifest || artifactId(manifest) !== p.artifactId) {
    throw new Error(`${host}: cannot install ${p.set} for ${p.kernelRelease}: the build on ${p.builder} has no artifact ${p.artifactId.slice(0, 12)}… yet; run pulumi up again`);
  }
  // A folder of this run's own, outside the host lock: another run's files cannot replace
  // these. install.sh copies them into its staging folder under the lock and checks the
  // copies, so what it verifies is what it installs.
  const upload = `${p.workDir}/uploads/${p.set}-${p.kernelRelease}.${require("crypto").randomBytes(6).toString("hex")}`;
  const filesFrom = setting.storeRegistry ? await pullOnHost(setting.storeRegistry, p, manifest, upload) : await uploadFromLocalStore(localStore(setting), p, manifest, upload);
  // The host checks the files against the manifest recorded in state, not against the store.
  const expect = manifest.modules.map((m) => `${m.name} ${m.sha256}`).join("\n");
  const r = await hostStep(
    p.connection,
    `installing ${p.set} for ${p.kernelRelease} (built on ${manifest.builtOn})`,
    installScript,
    "install",
    { ...env(p), UPLOAD: upload, ARTIFACT: p.artifactId, EXPECT: expect },
    p.commandTimeoutSeconds,
  );
  const modules = parseProbe(r.lists.module).map(({ name, sha256, vermagic }) => ({ name, sha256, vermagic }));
  return { ...p, modules, installDir: r.values.installDir ?? "", filesFrom, drift: [] };
}

function notInStore(p: ModuleInstallInputs, location: string): string {
  return `${p.connection.host}: cannot install ${p.set} for ${p.kernelRelease}: the artifact ${p.artifactId.slice(0, 12)}… is not in the store at ${location} (or not whole); the next preview shows how it is had again (taken back from a host that has it, or built)`;
}

/** Sends the files from the local store: the operator's traffic grows with the number of hosts. */
async function uploadFromLocalStore(store: ArtifactStore, p: ModuleInstallInputs, manifest: ArtifactManifest, upload: string): Promise<string> {
  // The bytes get() read and checked: what another run does to the store meanwhile cannot change them.
  const stored = await store.get(artifactKeyOf(manifest));
  if (!stored) throw new Error(notInStore(p, store.location));
  for (const m of manifest.modules) {
    await uploadBytes(p.connection, stored.contents.get(m.name)!, `${upload}/${m.name}.ko`, p.commandTimeoutSeconds);
  }
  return `uploaded from ${store.location}`;
}

/**
 * The host pulls the files from the registry itself (curl, each blob by its digest): the
 * operator sends the list of blobs and, when the registry needs a login, a curl config file
 * (mode 0600, removed once the files are there).
 */
async function pullOnHost(access: RegistryAccess, p: ModuleInstallInputs, manifest: ArtifactManifest, upload: string): Promise<string> {
  const location = new RegistryArtifactStore(access).location;
  const plan = hostPullPlan(access, manifest);
  if (plan.curlConfig) await uploadBytes(p.connection, Buffer.from(plan.curlConfig), `${upload}/.registry.curl`, p.commandTimeoutSeconds);
  try {
    await hostStep(p.connection, `pulling ${p.set} for ${p.kernelRelease} from ${location}`, installScript, "pull", { ...env(p), UPLOAD: upload, PULL: pullList(plan) }, p.commandTimeoutSeconds);
  } catch (e: any) {
    // The reason (the end of curl's output) follows; a registry that lost the artifact is had again as any lost store.
    throw new Error(`${p.connection.host}: cannot install ${p.set} for ${p.kernelRelease}: the host could not pull the artifact ${p.artifactId.slice(0, 12)}… from ${location}; if the registry no longer holds it, the next preview shows how it is had again\n${String(e?.message ?? e)}`);
  }
  return `pulled by the host from ${location}`;
}

/**
 * State from before build plans: the host's own build (ModuleBuild `<host>-<set>-build`,
 * taken over through an alias). Its job folder, log and kernel sources stay on the host;
 * a host that is not the group's builder does not need them.
 */
function isPerHostBuild(olds: any): boolean {
  return olds !== undefined && olds.artifactId === undefined && typeof olds.imagePath === "string";
}

async function removePerHostBuild(olds: any, news: ModuleInstallInputs): Promise<void> {
  const e = { KERNEL: olds.kernelRelease, SET: olds.set, WORK_DIR: olds.workDir };
  await hostStep(news.connection, `removing the build folders ${olds.set} had on this host before builds were shared`, buildScript, "delete", e, news.commandTimeoutSeconds);
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const moduleInstallProvider: pulumi.dynamic.ResourceProvider & StoreSetting = {
  async configure(req: pulumi.dynamic.ConfigureRequest) {
    Object.assign(this, storeSettingOf(req.config));
  },
  async create(inputs: ModuleInstallInputs) {
    // A host that could not be probed keeps both boot slots' installs registered (which one
    // it runs is not known): the one it does not have is recorded empty, touching nothing.
    if (!inputs.kernelRelease) return { id: `${inputs.connection.host}:${inputs.set}:unknown`, outs: { ...inputs, modules: [], installDir: "", filesFrom: "", drift: [] } };
    return { id: `${inputs.connection.host}:${inputs.set}:${inputs.kernelRelease}`, outs: await install(this, inputs) };
  },
  async read(id: string, props: ModuleInstallOutputs) {
    if (!props.kernelRelease) return { id, props }; // recorded empty (see create)
    const r = await hostStep(props.connection, `checking the modules of ${props.set}`, installScript, "probe", env(props), props.commandTimeoutSeconds);
    const probe = { installed: r.values.installed === "true", artifact: r.values.artifact, found: parseProbe(r.lists.module) };
    return { id, props: { ...props, drift: findDrift(props.modules ?? [], props.kernelRelease, probe, props.artifactId) } };
  },
  async diff(_id: string, olds: ModuleInstallOutputs, news: ModuleInstallInputs) {
    return diffModuleInstall(olds, news);
  },
  async update(_id: string, olds: ModuleInstallOutputs, news: ModuleInstallInputs) {
    return updateFor(moduleInstallLifecycle, olds, news, {
      remake: async () => {
        const outs = await install(this, news);
        if (isPerHostBuild(olds) && news.builder !== news.connection.host) await removePerHostBuild(olds, news);
        return outs;
      },
    });
  },
  async delete(_id: string, props: ModuleInstallOutputs) {
    if (!props.kernelRelease) return; // recorded empty (see create)
    await hostStep(props.connection, `removing ${props.set} installed for ${props.kernelRelease}`, installScript, "delete", env(props), props.commandTimeoutSeconds);
  },
};

export type ModuleInstallArgs = { [K in keyof ModuleInstallInputs]: pulumi.Input<ModuleInstallInputs[K]> };

export class ModuleInstall extends pulumi.dynamic.Resource {
  public declare readonly modules: pulumi.Output<InstalledModule[]>;
  public declare readonly installDir: pulumi.Output<string>;
  public declare readonly filesFrom: pulumi.Output<string>;
  public declare readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: ModuleInstallArgs, opts?: pulumi.CustomResourceOptions) {
    super(moduleInstallProvider, name, { ...args, modules: undefined, installDir: undefined, filesFrom: undefined, drift: undefined }, { ...opts, additionalSecretOutputs: ["connection"] }, "kmod-fleet", "ModuleInstall");
  }
}
