// Build once, install everywhere, over real SSH: a build on the builder into a local
// artifact store, installs from it on several hosts, drift repaired from the artifact,
// failures, taking an artifact back from a host, destroy. Hosts are folders of one sshd
// in a private mount namespace (each its own modules dir and work dir); systemd-nspawn,
// modinfo and depmod are stubs: the "compiler" writes fake .ko files whose text carries
// vermagic and srcversion, and counts its builds. No kernel is touched.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { diffModuleBuild, moduleBuildProvider, type ModuleBuildInputs, type ModuleBuildOutputs } from "../../components/providers/moduleBuild/moduleBuild";
import { moduleInstallProvider, diffModuleInstall, type ModuleInstallInputs, type ModuleInstallOutputs } from "../../components/providers/moduleInstall/moduleInstall";
import { probeInventory } from "../../components/inventory";
import { hostStep } from "../../host/hostStep";
import { buildScript } from "../../components/providers/scripts";
import { kconfigFilesEnv } from "../../components/providers/preflightOnHost";
import { LocalArtifactStore, artifactId } from "../../artifacts/store";
import { startSshd, type TestSshd } from "./sshd";

const K = "6.1.0-77-test-amd64";
const K2 = "6.1.0-78-test-amd64";
let sshd: TestSshd;
let dir: string;
let S: string; // the stubs' state
let store: string;
const src = path.join(__dirname, "..", "..", "dev", "testbed", "fixtures", "kmod-pair");

// systemd-nspawn: PHASE=build writes <job>/out/<m>.ko for each module in $S/modules, unless
// $S/build-fail exists; $S/generation changes the bytes; $S/vermagic overrides the kernel.
const nspawn = (S: string) => `
for a in "$@"; do case "$a" in --bind=*:/mnt) job=\${a#--bind=}; job=\${job%:/mnt} ;; --setenv=PHASE=*) phase=\${a#--setenv=PHASE=} ;; --setenv=KERNEL=*) kernel=\${a#--setenv=KERNEL=} ;; esac; done
[ "$phase" = build ] || exit 0
echo "  CC [M]  /mnt/src/pair_provider.o"
if [ -f ${S}/build-fail ]; then echo "pair_provider.c:3:1: error: the fake compiler refuses this source"; echo "make: *** [modules] Error 2"; exit 2; fi
echo build >> ${S}/builds
mkdir -p "$job/out"
gen=$(cat ${S}/generation 2>/dev/null || echo 1)
magic=$(cat ${S}/vermagic 2>/dev/null || echo "$kernel")
for m in $(cat ${S}/modules); do printf 'vermagic=%s SMP preempt mod_unload\\nsrcversion=SRC-%s-%s\\nbody of %s, generation %s\\n' "$magic" "$m" "$gen" "$m" "$gen" > "$job/out/$m.ko"; done`;
// With $S/replace-uploads, reading pair_provider.ko (the last module the install checks)
// first overwrites every uploaded .ko, as a second run's upload could.
const modinfo = (S: string, hosts: string) => `
while [ $# -gt 0 ]; do case "$1" in -F) f=$2; shift 2 ;; --) shift ;; *) file=$1; shift ;; esac; done
if [ -f ${S}/replace-uploads ] && [ "\${file##*/}" = pair_provider.ko ]; then
  for u in ${hosts}/*/work/uploads/*/*.ko; do [ -f "$u" ] && printf 'vermagic=${K} SMP\\nreplaced by another run\\n' > "$u"; done
fi
[ -f "$file" ] || { echo "modinfo: ERROR: Module $file not found." >&2; exit 1; }
sed -n "s/^$f=//p" "$file" | head -n 1`;
// depmod -a <kernel>: indexes every host folder's modules for that kernel; $S/depmod-fail fails it.
const depmod = (S: string, hosts: string) => `
k=$2
echo "depmod $k" >> ${S}/depmod-calls
[ -f ${S}/depmod-fail ] && { echo "depmod: ERROR: fake failure" >&2; exit 1; }
for d in ${hosts}/*/modules/$k; do [ -d "$d" ] || continue; (cd "$d" && find . -name '*.ko' -not -path '*/.*' | sed 's|^\\./||; s|$|:|' | sort > modules.dep); done
# The real depmod indexes hidden folders too: two copies of a module in the tree at once is a bug.
for d in ${hosts}/*/modules/$k; do [ -d "$d" ] || continue; (cd "$d" && find . -name '*.ko' -exec basename {} \\; | sort | uniq -d) >> ${S}/depmod-duplicates; done`;

const spec = (host: string): ConnectionSpec => ({ host, address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 });
const mods = (host: string) => `${dir}/hosts/${host}/modules`;
const work = (host: string) => `${dir}/hosts/${host}/work`;
const extra = (host: string, kernel = K) => `${mods(host)}/${kernel}/extra`;
const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const count = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0);
const builds = () => count(`${S}/builds`);

beforeAll(async () => {
  // /etc/systemd/system private: nothing an install writes for a boot reaches this machine.
  sshd = await startSshd({ namespace: { tmpfs: ["/etc/systemd/system"] } });
  dir = sshd.dir;
  S = `${dir}/state`;
  fs.writeFileSync(`${dir}/stubs/systemd-nspawn`, `#!/bin/bash\n${nspawn(S)}\n`, { mode: 0o755 });
  fs.writeFileSync(`${dir}/stubs/modinfo`, `#!/bin/bash\n${modinfo(S, `${dir}/hosts`)}\n`, { mode: 0o755 });
  fs.writeFileSync(`${dir}/stubs/depmod`, `#!/bin/bash\n${depmod(S, `${dir}/hosts`)}\n`, { mode: 0o755 });
  // The hosts run K (install.sh indexes a kernel the host runs at once, a staged one at its boot).
  fs.writeFileSync(`${dir}/stubs/uname`, `#!/bin/bash\nif [ "$1" = -r ]; then echo ${K}; else exec /bin/uname "$@"; fi\n`, { mode: 0o755 });
  fs.writeFileSync(`${dir}/config`, "CONFIG_MODULES=y\n");
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});
afterEach(() => {
  // Whatever a test did, depmod never saw a module twice (it may index the copy about to go).
  expect(fs.existsSync(`${S}/depmod-duplicates`) ? fs.readFileSync(`${S}/depmod-duplicates`, "utf8") : "").toBe("");
});
beforeEach(() => {
  for (const d of [S, `${dir}/hosts`]) fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(S, { recursive: true });
  fs.writeFileSync(`${S}/modules`, "pair_provider pair_consumer\n");
  for (const h of ["b1", "h2", "h3"]) fs.mkdirSync(`${mods(h)}/${K}/kernel`, { recursive: true });
  store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  // The providers read the store's folder where they run, as an operator sets it.
  process.env.KMOD_FLEET_STORE = store;
});

const buildInputs = (over: Partial<ModuleBuildInputs> = {}): ModuleBuildInputs => ({
  connection: spec("b1"),
  builder: "b1",
  set: "pair",
  kernelRelease: K,
  arch: "x86_64",
  kernelConfig: `${dir}/config`,
  imagePath: `${dir}/image.bin`,
  sourcesCommand: "true",
  source: { kind: "dir", dir: src },
  sourceDir: src,
  sourceHash: "h",
  sourceIdentity: "source-1",
  modulesDir: mods("b1"),
  workDir: work("b1"),
  obtain: "build on b1",
  buildTimeoutSeconds: 60,
  commandTimeoutSeconds: 30,
  ...over,
});

const installInputs = (host: string, build: ModuleBuildOutputs, over: Partial<ModuleInstallInputs> = {}): ModuleInstallInputs => ({
  connection: spec(host),
  set: "pair",
  kernelRelease: K,
  modulesDir: mods(host),
  workDir: work(host),
  builder: "b1",
  artifactId: artifactId({ kernelRelease: build.kernelRelease, arch: build.arch, set: build.set, sourceIdentity: build.sourceIdentity }),
  manifest: build.manifest,
  buildFailure: build.failure,
  commandTimeoutSeconds: 30,
  ...over,
});

async function build(over: Partial<ModuleBuildInputs> = {}): Promise<ModuleBuildOutputs> {
  return (await moduleBuildProvider.create(buildInputs(over))).outs;
}
async function install(host: string, b: ModuleBuildOutputs): Promise<ModuleInstallOutputs> {
  return (await moduleInstallProvider.create(installInputs(host, b))).outs;
}
async function readInstall(outs: ModuleInstallOutputs): Promise<ModuleInstallOutputs> {
  return (await moduleInstallProvider.read!("id", outs)).props as ModuleInstallOutputs;
}
const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

describe("one build, installed on every host of the group", () => {
  it("the builder builds once; the .ko files and the manifest go to the store", async () => {
    const b = await build();
    expect(builds()).toBe(1);
    expect(b).toMatchObject({ failure: "", obtained: "built on b1", ownsEntry: true, inStore: true, artifactId: artifactId({ kernelRelease: K, arch: "x86_64", set: "pair", sourceIdentity: "source-1" }) });
    expect(b.manifest!.modules.map((m) => m.name)).toEqual(["pair_consumer", "pair_provider"]);
    expect(b.manifest!.modules[0]).toMatchObject({ vermagic: `${K} SMP preempt mod_unload`, srcversion: "SRC-pair_consumer-1" });
    expect(b.manifest!.modules[0].size).toBeGreaterThan(0);
    const stored = (await new LocalArtifactStore(store).get(b.manifest!))!;
    expect(sha(stored.files.get("pair_provider")!)).toBe(b.manifest!.modules[1].sha256);
    // Nothing was installed on the builder by the build: that is the install's job.
    expect(fs.existsSync(extra("b1"))).toBe(false);
    expect(b.leftoversOn.map((l) => l.host)).toEqual(["b1"]);
  });

  it("each host installs the same artifact: verified, swapped into extra/<set>, indexed; identical sha256 everywhere, no compiling", async () => {
    const b = await build();
    const outs = [await install("b1", b), await install("h2", b), await install("h3", b)];
    expect(builds()).toBe(1);
    for (const [i, h] of ["b1", "h2", "h3"].entries()) {
      // The modules, and what the install records next to them (the artifact's id, the files' sha256).
      expect(ls(`${extra(h)}/pair`)).toEqual([".kmod-fleet-artifact", ".kmod-fleet-sha256", "pair_consumer.ko", "pair_provider.ko"]);
      expect(b.manifest!.modules.map((m) => sha(`${extra(h)}/pair/${m.name}.ko`))).toEqual(b.manifest!.modules.map((m) => m.sha256));
      expect(fs.readFileSync(`${mods(h)}/${K}/modules.dep`, "utf8")).toBe("extra/pair/pair_consumer.ko:\nextra/pair/pair_provider.ko:\n");
      // Nothing left beside it: no staging, no previous folder, no upload.
      expect(ls(extra(h))).toEqual(["pair"]);
      expect(fs.existsSync(`${work(h)}/uploads`)).toBe(false);
      expect(outs[i]).toMatchObject({ installDir: `${extra(h)}/pair`, drift: [] });
      expect((await readInstall(outs[i])).drift).toEqual([]);
    }
    // A host that does not build has nothing of kmod-fleet's in its work dir.
    expect(fs.existsSync(work("h2"))).toBe(false);
  });

  it("the program's inventory sees each host's artifact, and only while its files are unchanged", async () => {
    const b = await build();
    await install("h2", b);
    const q = { kernelRelease: K, osVersion: "3975.2.0", modulesDir: mods("h2"), workDir: work("h2"), cacheDir: `${dir}/cache` };
    expect(await probeInventory(spec("h2"), q)).toEqual({ artifacts: { pair: b.artifactId }, developerContainer: false });
    fs.appendFileSync(`${extra("h2")}/pair/pair_consumer.ko`, "tampered");
    expect(await probeInventory(spec("h2"), q)).toEqual({ artifacts: {}, developerContainer: false });
  });
});

describe("drift and verification", () => {
  it("a deleted or altered .ko on a host is drift, repaired by installing the same artifact again: no compiling", async () => {
    const b = await build();
    const outs = await install("h2", b);
    fs.rmSync(`${extra("h2")}/pair/pair_provider.ko`);
    fs.appendFileSync(`${extra("h2")}/pair/pair_consumer.ko`, "changed by hand");
    const read = await readInstall(outs);
    expect(read.drift).toEqual([expect.stringMatching(/^pair_consumer\.ko was changed \(sha256 /), "pair_provider.ko is missing"]);
    expect(diffModuleInstall(read, installInputs("h2", b))).toEqual({ changes: true });
    const repaired = (await moduleInstallProvider.update!("id", read, installInputs("h2", b))).outs;
    expect((await readInstall(repaired)).drift).toEqual([]);
    expect(sha(`${extra("h2")}/pair/pair_consumer.ko`)).toBe(b.manifest!.modules[0].sha256);
    expect(builds()).toBe(1);
  });

  it("a store file damaged to the same size is not installed; refresh finds it, and the take-back heals it without compiling", async () => {
    const b = await build();
    await install("h2", b);
    const blob = (await new LocalArtifactStore(store).get(b.manifest!))!.files.get("pair_consumer")!;
    const good = fs.readFileSync(blob);
    fs.writeFileSync(blob, Buffer.from(good.toString().replace("body", "BODY"))); // same size, other bytes
    await expect(moduleInstallProvider.create(installInputs("h3", b))).rejects.toThrow(new RegExp(`^h3: cannot install pair for ${K}: the artifact [0-9a-f]{12}… is not in the store at ${store} \\(or not whole\\)`));
    expect(ls(extra("h3"))).toEqual([]);
    expect(sha(`${extra("h2")}/pair/pair_consumer.ko`)).toBe(b.manifest!.modules[0].sha256);
    // Refresh checks the bytes, not only the manifest: the build is drift.
    const read = (await moduleBuildProvider.read!("id", b)).props as ModuleBuildOutputs;
    expect(read.inStore).toBe(false);
    expect(diffModuleBuild(read, buildInputs())).toEqual({ changes: true });
    const back = (await moduleBuildProvider.update!("id", read, buildInputs({ obtain: "take back from h2", takeBackFrom: spec("h2"), modulesDir: mods("h2") }))).outs as ModuleBuildOutputs;
    expect(back).toMatchObject({ obtained: "taken back from h2", inStore: true });
    expect(fs.readFileSync(blob)).toEqual(good);
    await install("h3", back);
    expect(sha(`${extra("h3")}/pair/pair_consumer.ko`)).toBe(b.manifest!.modules[0].sha256);
    expect(builds()).toBe(1);
  });

  it("bytes that change in the upload folder after the install began are not what it installs: it checks the copies it installs", async () => {
    const b = await build();
    // The modinfo stub replaces the uploaded files once every sha256 has been checked.
    fs.writeFileSync(`${S}/replace-uploads`, "");
    const outs = await install("h2", b);
    expect(outs.modules.map((m) => m.sha256)).toEqual(b.manifest!.modules.map((m) => m.sha256));
    for (const m of b.manifest!.modules) expect(sha(`${extra("h2")}/pair/${m.name}.ko`)).toBe(m.sha256);
    expect(fs.existsSync(`${work("h2")}/uploads`)).toBe(false);
  });

  it("an artifact for another kernel is refused before anything is staged (vermagic)", async () => {
    const b = await build();
    fs.mkdirSync(`${mods("h2")}/${K2}`, { recursive: true });
    await expect(moduleInstallProvider.create(installInputs("h2", b, { kernelRelease: K2 }))).rejects.toThrow(new RegExp(`pair_\\w+\\.ko has vermagic '${K}', but this host's kernel is ${K2}; nothing was installed`));
    expect(ls(extra("h2", K2))).toEqual([]);
  });

  it("depmod failing after the swap puts the previous modules back", async () => {
    const b1 = await build();
    await install("h2", b1);
    fs.writeFileSync(`${S}/generation`, "2");
    const b2 = (await moduleBuildProvider.update!("id", b1, buildInputs({ sourceIdentity: "source-2" }))).outs as ModuleBuildOutputs;
    fs.writeFileSync(`${S}/depmod-fail`, "");
    // A first install: nothing was there before, nothing is left.
    await expect(install("h3", b2)).rejects.toThrow(/depmod failed for the new modules/);
    expect(ls(extra("h3"))).toEqual([]);
    const h2 = { ...installInputs("h2", b1), modules: [], installDir: "", drift: [] };
    await expect(moduleInstallProvider.update!("id", h2, installInputs("h2", b2))).rejects.toThrow(/depmod failed for the new modules; the previous ones are back in place/);
    expect(sha(`${extra("h2")}/pair/pair_consumer.ko`)).toBe(b1.manifest!.modules[0].sha256);
    expect(ls(extra("h2"))).toEqual(["pair"]);
  });

  it("an install stopped between its two renames is finished by the next one", async () => {
    const b = await build();
    const outs = await install("h2", b);
    fs.renameSync(`${extra("h2")}/pair`, `${extra("h2")}/.pair.old`);
    const read = await readInstall(outs);
    expect(read.drift).toEqual(["the install folder is gone"]);
    await moduleInstallProvider.update!("id", read, installInputs("h2", b));
    expect(ls(extra("h2"))).toEqual(["pair"]);
    expect((await readInstall(outs)).drift).toEqual([]);
  });
});

describe("a failed build (issue 11: never leave a host without its module)", () => {
  it("is recorded once with the log's end and where the log is; every host of the group reports it; the old modules stay", async () => {
    const b1 = await build();
    const installed = { b1: await install("b1", b1), h2: await install("h2", b1) };
    const h2 = installed.h2;
    fs.writeFileSync(`${S}/build-fail`, "");
    const failed = (await moduleBuildProvider.update!("id", b1, buildInputs({ sourceIdentity: "source-2" }))).outs as ModuleBuildOutputs;
    // The resource itself does not fail: the hosts report it.
    expect(failed.failure).toMatch(new RegExp(`^the build of pair for ${K} \\(x86_64\\) on b1 failed:\\nb1: building pair for ${K} failed \\(exit 4\\):`));
    expect(failed.failure).toContain("  | pair_provider.c:3:1: error: the fake compiler refuses this source");
    expect(failed.failure).toContain(`full log on b1: ${work("b1")}/logs/pair-${K}.log`);
    expect(fs.readFileSync(`${work("b1")}/logs/pair-${K}.log`, "utf8")).toContain("the fake compiler refuses");
    // The old artifact is kept (it is still installed), the new one does not exist.
    expect(failed).toMatchObject({ artifactId: b1.artifactId, manifest: b1.manifest, inStore: false });
    const errors: string[] = [];
    for (const host of ["b1", "h2"] as const) {
      const news = installInputs(host, failed, { artifactId: artifactId({ kernelRelease: K, arch: "x86_64", set: "pair", sourceIdentity: "source-2" }) });
      expect(diffModuleInstall(installed[host], news).changes).toBe(true);
      const e = await moduleInstallProvider.update!("id", installed[host], news).catch((err: Error) => err);
      errors.push(String((e as Error).message));
    }
    expect(errors[0]).toBe(`b1: cannot install pair for ${K}: ${failed.failure}`);
    expect(errors[1]).toBe(`h2: cannot install pair for ${K}: ${failed.failure}`);
    for (const h of ["b1", "h2"]) expect(b1.manifest!.modules.map((m) => sha(`${extra(h)}/pair/${m.name}.ko`))).toEqual(b1.manifest!.modules.map((m) => m.sha256));

    // The next up tries again; once it builds, the new artifact replaces the old one in place.
    fs.rmSync(`${S}/build-fail`);
    fs.writeFileSync(`${S}/generation`, "2");
    const b2 = (await moduleBuildProvider.update!("id", failed, buildInputs({ sourceIdentity: "source-2" }))).outs as ModuleBuildOutputs;
    expect(b2).toMatchObject({ failure: "", obtained: "built on b1" });
    const updated = (await moduleInstallProvider.update!("id", h2, installInputs("h2", b2))).outs as ModuleInstallOutputs;
    expect(updated.modules.map((m) => m.sha256)).toEqual(b2.manifest!.modules.map((m) => m.sha256));
    expect(fs.readFileSync(`${extra("h2")}/pair/pair_consumer.ko`, "utf8")).toContain("generation 2");
    // The old artifact's store entry went with it.
    expect(await new LocalArtifactStore(store).get(b1.manifest!)).toBeUndefined();
    expect(await new LocalArtifactStore(store).get(b2.manifest!)).toBeDefined();
  });

  it("a build whose modules carry another kernel's vermagic is refused on the builder", async () => {
    fs.writeFileSync(`${S}/vermagic`, K2);
    const b = await build();
    expect(b.failure).toMatch(new RegExp(`has vermagic '${K2}', but the kernel built for is ${K}; the build is refused`));
    expect(b).toMatchObject({ artifactId: "", manifest: null });
  });
});

describe("an artifact missing from the store", () => {
  it("is taken back from a host that has it installed, checked against the manifest in state, without compiling", async () => {
    const b = await build();
    await install("h2", b);
    fs.rmSync(store, { recursive: true, force: true });
    const read = (await moduleBuildProvider.read!("id", b)).props as ModuleBuildOutputs;
    expect(read.inStore).toBe(false);
    // (Every host of a fleet has the same modules dir; here each has its own.)
    const back = (await moduleBuildProvider.update!("id", read, buildInputs({ obtain: "take back from h2", takeBackFrom: spec("h2"), modulesDir: mods("h2") }))).outs as ModuleBuildOutputs;
    expect(back).toMatchObject({ obtained: "taken back from h2", inStore: true, failure: "", artifactId: b.artifactId, ownsEntry: true });
    expect(builds()).toBe(1);
    const stored = (await new LocalArtifactStore(store).get(b.manifest!))!;
    expect(b.manifest!.modules.map((m) => sha(stored.files.get(m.name)!))).toEqual(b.manifest!.modules.map((m) => m.sha256));
    // A new host installs it without a build.
    await install("h3", back);
    expect(builds()).toBe(1);
  });

  it("files on that host that differ from the manifest are not taken: it is built again", async () => {
    const b = await build();
    await install("h2", b);
    fs.rmSync(store, { recursive: true, force: true });
    fs.appendFileSync(`${extra("h2")}/pair/pair_provider.ko`, "x");
    const back = (await moduleBuildProvider.update!("id", { ...b, inStore: false }, buildInputs({ obtain: "take back from h2", takeBackFrom: spec("h2"), modulesDir: mods("h2") }))).outs as ModuleBuildOutputs;
    expect(back).toMatchObject({ obtained: "built on b1", inStore: true });
    expect(builds()).toBe(2);
  });
});

describe("destroy", () => {
  it("installs leave their hosts (depmod runs), the build's leftovers leave the builder, its store entry goes", async () => {
    const b = await build();
    const outs = [await install("b1", b), await install("h2", b)];
    expect(fs.existsSync(`${work("b1")}/jobs/${K}/pair`)).toBe(true);
    for (const o of outs) await moduleInstallProvider.delete!("id", o);
    for (const h of ["b1", "h2"]) {
      expect(fs.existsSync(extra(h))).toBe(false);
      expect(fs.readFileSync(`${mods(h)}/${K}/modules.dep`, "utf8")).toBe("");
    }
    await moduleBuildProvider.delete!("id", b);
    expect(fs.existsSync(work("b1"))).toBe(false);
    expect(await new LocalArtifactStore(store).get(b.manifest!)).toBeUndefined();
    expect(ls(`${store}/blobs`)).toEqual([]);
  });

  it("an artifact the build found in the store, not made, is left there", async () => {
    const made = await build();
    const found = await build({ builder: "h2", connection: spec("h2"), workDir: work("h2") });
    expect(found).toMatchObject({ obtained: "found in the store", ownsEntry: false });
    await moduleBuildProvider.delete!("id", found);
    expect(await new LocalArtifactStore(store).get(made.manifest!)).toBeDefined();
  });
});

describe("the preflight reads the builder's kernel tree", () => {
  it("build.sh accepts the kconfig-files call the preflight and the doctor make", async () => {
    fs.mkdirSync(`${work("b1")}/src/${K}/linux`, { recursive: true });
    fs.writeFileSync(`${work("b1")}/src/${K}/linux/Kconfig`, "config FOO\n\ttristate \"foo\"\n");
    const r = await hostStep(spec("b1"), "reading the Kconfig tree", buildScript, "kconfig-files", kconfigFilesEnv({ workDir: work("b1"), kernelRelease: K }), 30);
    const listing = (await runScript(spec("b1"), `echo '${r.stdout.trim()}' | base64 -d | tar -tz`, { timeoutSeconds: 10 })).stdout;
    expect(listing.split("\n")).toContain("./Kconfig");
  });
});
