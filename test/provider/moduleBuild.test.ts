// The build over real SSH with build.sh and its container script as they run on a host,
// in a private mount namespace where systemd-nspawn is a stub that makes the same binds
// in a nested namespace, and `make`, `depmod`, `modinfo` are stubs: a "module" is a file
// holding its vermagic and version. The build goes into a local artifact store and the
// host installs it from there (install.sh), as the fleet does. What is checked is the
// scripts' own logic: a failed rebuild keeps the installed modules and the kernel tree, a
// replaced install is kept until its successor loads, and in-tree directories are built
// in the order of the symbols they use.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAllSessions, type ConnectionSpec } from "../../host/ssh/session";
import { moduleBuildProvider, type ModuleBuildInputs, type ModuleBuildOutputs } from "../../components/providers/moduleBuild/moduleBuild";
import { moduleInstallProvider, type ModuleInstallInputs, type ModuleInstallOutputs } from "../../components/providers/moduleInstall/moduleInstall";
import { artifactId } from "../../artifacts/store";
import { hostStep } from "../../host/hostStep";
import { buildScript } from "../../components/providers/scripts";
import { startSshd, type TestSshd } from "./sshd";

const K = "6.1.0-50-cloud-amd64";

// Makes the binds systemd-nspawn would, then runs the command with the --setenv variables.
const NSPAWN = `binds=(); envs=()
while [ $# -gt 0 ]; do case "$1" in
  --bind=* | --bind-ro=*) binds+=("\${1#*=}") ;;
  --setenv=*) envs+=("\${1#--setenv=}") ;;
  --*) ;;
  *) break ;;
esac; shift; done
setup="set -e"
for b in "\${binds[@]}"; do setup+="; mkdir -p '\${b#*:}'; mount --bind '\${b%%:*}' '\${b#*:}'"; done
exec unshare -m --propagation private env "\${envs[@]}" bash -c "$setup; exec \\"\\$@\\"" nspawn "$@"`;

// M=<dir> modules: fails like a compiler on <dir>/broken, like modpost when a directory
// listed in <dir>/needs has not given its Module.symvers; else writes <dir>/<name>.ko for
// each name in <dir>/modules, holding the kernel release and <dir>/version.
const MAKE = `for a in "$@"; do case "$a" in M=*) M=\${a#M=} ;; KBUILD_EXTRA_SYMBOLS=*) X=\${a#*=} ;; KERNELRELEASE=*) K=\${a#*=} ;; -*) ;; *) T=$a ;; esac; done
# olddefconfig: a tree's "selects" file holds what another option selects back on.
# modules_prepare: leaves include/config/auto.conf, as the real one does, and says it ran.
case "$T" in
olddefconfig) echo "make olddefconfig" >> /mnt/prepare.calls; [ -f selects ] && cat selects >> "$KCONFIG_CONFIG"; exit 0 ;;
modules_prepare) mkdir -p include/config && touch include/config/auto.conf && echo "make modules_prepare" >> /mnt/prepare.calls; exit 0 ;;
esac
d=$M; [ "\${M#/}" = "$M" ] && d=$PWD/$M
echo "make M=$M extra=[$X]" >> /mnt/make.calls
[ -f "$d/broken" ] && { echo "$d/x.c:1:1: error: $(cat "$d/broken")"; exit 2; }
for need in $(cat "$d/needs" 2>/dev/null); do
  case " $X " in *" $PWD/$need/Module.symvers "*) ;; *) echo "ERROR: modpost: \\"\${need}_symbol\\" [$M] undefined!"; exit 2 ;; esac
done
for n in $(cat "$d/modules"); do echo "$K $(cat "$d/version" 2>/dev/null)" > "$d/$n.ko"; done
echo "symbols of $M" > "$d/Module.symvers"`;

let sshd: TestSshd;
let spec: ConnectionSpec;
let root: string;
let store: string;

beforeAll(async () => {
  // /etc/systemd/system private: nothing an install writes for a boot reaches this machine.
  sshd = await startSshd({ namespace: { tmpfs: ["/etc/systemd/system"] } });
  root = sshd.dir;
  const stub = (name: string, body: string) => fs.writeFileSync(`${root}/stubs/${name}`, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  // The host runs K: what is installed for it is indexed at once.
  stub("uname", `if [ "$1" = -r ]; then echo ${K}; else exec /bin/uname "$@"; fi`);
  stub("systemd-nspawn", NSPAWN);
  stub("make", MAKE);
  // -F vermagic: the kernel release the module was built for; -F srcversion: from its version.
  stub("modinfo", `while [ $# -gt 0 ]; do case "$1" in -F) f=$2; shift 2 ;; --) shift ;; *) file=$1; shift ;; esac; done
case "$f" in srcversion) echo "SRC-$(cut -s -d' ' -f2 "$file")" ;; *) echo "$(cut -d' ' -f1 "$file") SMP mod_unload" ;; esac`);
  stub("depmod", `for f in ${root}/modules/${K}/extra/*/*.ko; do [ -f "$f" ] && echo "\${f#${root}/modules/${K}/}:"; done > ${root}/modules/${K}/modules.dep; echo "depmod $*" >> ${root}/depmod.calls`);
  // The kernel tree the sources command puts in place: two in-tree directories, b's
  // module using what a's exports, and scripts/config.
  const tree = `${root}/tree`;
  for (const [p, text] of Object.entries({ Makefile: "", "a/modules": "alpha", "b/modules": "beta", "b/needs": "a" })) {
    fs.mkdirSync(path.dirname(`${tree}/${p}`), { recursive: true });
    fs.writeFileSync(`${tree}/${p}`, text);
  }
  fs.mkdirSync(`${tree}/scripts`);
  fs.writeFileSync(`${tree}/scripts/config`, `#!/bin/bash\nf=$2; case "$3" in --module) echo "CONFIG_$4=m" >> "$f" ;; --enable) echo "CONFIG_$4=y" >> "$f" ;; --disable) echo "# CONFIG_$4 is not set" >> "$f" ;; esac\n`, { mode: 0o755 });
  fs.writeFileSync(`${root}/running.config`, "CONFIG_MODULES=y\n");
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});
beforeEach(() => {
  for (const d of ["modules", "work", "work2", "pair"]) fs.rmSync(`${root}/${d}`, { recursive: true, force: true });
  store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  // The providers read the store's folder where they run, as an operator sets it.
  process.env.KMOD_FLEET_STORE = store;
  fs.mkdirSync(`${root}/modules/${K}/kernel`, { recursive: true });
  fs.mkdirSync(`${root}/pair`);
  fs.writeFileSync(`${root}/pair/modules`, "pair");
  fs.writeFileSync(`${root}/pair/version`, "v1");
});

const inputs = (over: Partial<ModuleBuildInputs> = {}): ModuleBuildInputs => ({
  connection: spec,
  builder: "loop",
  set: "s",
  kernelRelease: K,
  arch: "x86_64",
  kernelConfig: `${root}/running.config`,
  imagePath: "/nonexistent/developer_container.bin",
  sourcesCommand: `cp -a ${root}/tree linux`,
  source: { kind: "dir", dir: "pair" },
  sourceDir: `${root}/pair`,
  sourceHash: "v1",
  sourceIdentity: "v1",
  modulesDir: `${root}/modules`,
  workDir: `${root}/work`,
  obtain: "build on loop",
  buildTimeoutSeconds: 60,
  commandTimeoutSeconds: 30,
  ...over,
});
/** The install of the artifact the program plans for `identity` (known before the build has it). */
const installInputs = (build: ModuleBuildOutputs, identity: string): ModuleInstallInputs => ({
  connection: spec,
  set: "s",
  kernelRelease: K,
  modulesDir: `${root}/modules`,
  workDir: `${root}/work`,
  builder: "loop",
  artifactId: artifactId({ kernelRelease: K, arch: "x86_64", set: "s", sourceIdentity: identity }),
  manifest: build.manifest,
  buildFailure: build.failure,
  commandTimeoutSeconds: 30,
});
const build = async (over: Partial<ModuleBuildInputs> = {}) => (await moduleBuildProvider.create(inputs(over))).outs as ModuleBuildOutputs;
const rebuild = async (olds: ModuleBuildOutputs, over: Partial<ModuleBuildInputs>) => (await moduleBuildProvider.update!("id", olds, inputs(over))).outs as ModuleBuildOutputs;
const install = async (b: ModuleBuildOutputs, identity = "v1") => (await moduleInstallProvider.create(installInputs(b, identity))).outs as ModuleInstallOutputs;
const reinstall = async (olds: ModuleInstallOutputs, b: ModuleBuildOutputs, identity: string) => (await moduleInstallProvider.update!("id", olds, installInputs(b, identity))).outs as ModuleInstallOutputs;
const installed = (name = "pair") => fs.readFileSync(`${root}/modules/${K}/extra/s/${name}.ko`, "utf8").trim();
const built = (name: string) => fs.readFileSync(`${root}/work/jobs/${K}/s/out/${name}.ko`, "utf8").trim();
const previous = () => `${root}/work/previous/${K}/s`;

/** build.sh's build of an in-tree set "s" of these directories and options. */
const inTree = (directories: string, options = "ALPHA=m BETA=m GAMMA=y") =>
  hostStep(spec, "building", buildScript, "build", {
    KERNEL: K, SET: "s", IMAGE: "/nonexistent", WORK_DIR: `${root}/work`, MODULES_DIR: `${root}/modules`, KERNEL_CONFIG: `${root}/running.config`,
    SOURCES_COMMAND: `cp -a ${root}/tree linux`, SOURCE_KIND: "inTree", OPTIONS: options, DIRECTORIES: directories, GIT_URL: "", GIT_REF: "",
  }, 60);

describe("a rebuild never costs the installed modules", () => {
  it("a source that does not compile: the build records the error with the log's end and path, each install reports it, and the installed modules and the kernel tree stay", async () => {
    const b1 = await build();
    const i1 = await install(b1);
    expect(installed()).toBe(`${K} v1`);
    fs.writeFileSync(`${root}/pair/broken`, "expected ';' before '}' token");
    const failed = await rebuild(b1, { sourceHash: "broken", sourceIdentity: "broken" });
    expect(failed.failure).toMatch(/build of s for 6\.1\.0-50-cloud-amd64 failed; the end of the log:[\s\S]*error: expected ';' before '}' token[\s\S]*full log on loop: \S+\/work\/logs\/s-6\.1\.0-50-cloud-amd64\.log/);
    await expect(reinstall(i1, failed, "broken")).rejects.toThrow(/^loop: cannot install s for 6\.1\.0-50-cloud-amd64: the build of s for 6\.1\.0-50-cloud-amd64 \(x86_64\) on loop failed:/);
    expect(installed()).toBe(`${K} v1`);
    expect(fs.readFileSync(`${root}/modules/${K}/modules.dep`, "utf8")).toBe("extra/s/pair.ko:\n");
    expect(fs.existsSync(previous())).toBe(false);
    // The kernel tree is kept for the retry.
    expect(fs.existsSync(`${root}/work/src/${K}/linux/Makefile`)).toBe(true);
  });

  it("a successful rebuild: the install swaps the new modules in and keeps the ones it replaced outside the modules tree", async () => {
    const b1 = await build();
    const i1 = await install(b1);
    fs.writeFileSync(`${root}/pair/version`, "v2");
    const b2 = await rebuild(b1, { sourceHash: "v2", sourceIdentity: "v2" });
    expect(b2.failure).toBe("");
    const i2 = await reinstall(i1, b2, "v2");
    expect(installed()).toBe(`${K} v2`);
    expect(fs.readFileSync(`${previous()}/pair.ko`, "utf8").trim()).toBe(`${K} v1`);
    expect(i2.modules.map((m) => m.name)).toEqual(["pair"]);
    // The same artifact again (a repair) keeps what was kept.
    await reinstall({ ...i2, drift: ["pair.ko is missing"] }, b2, "v2");
    expect(fs.readFileSync(`${previous()}/pair.ko`, "utf8").trim()).toBe(`${K} v1`);
    // delete removes the kept modules with the rest; the build's delete its leftovers.
    await moduleInstallProvider.delete!("id", i2);
    expect(fs.existsSync(`${root}/modules/${K}/extra`)).toBe(false);
    expect(fs.existsSync(`${root}/work/previous`)).toBe(false);
    await moduleBuildProvider.delete!("id", b2);
    expect(fs.existsSync(`${root}/work`)).toBe(false);
  });

  it("a new work dir is recorded (nothing is built for it); the next build runs in it, and destroy removes what builds left in both", async () => {
    const b1 = await build();
    const moved = (await moduleBuildProvider.update!("id", b1, inputs({ workDir: `${root}/work2` }))).outs as ModuleBuildOutputs;
    expect(fs.existsSync(`${root}/work2`)).toBe(false);
    expect(moved.leftoversOn.map((l) => l.workDir)).toEqual([`${root}/work`]);
    fs.writeFileSync(`${root}/pair/version`, "v2");
    const b2 = await rebuild(moved, { workDir: `${root}/work2`, sourceHash: "v2", sourceIdentity: "v2" });
    expect(fs.existsSync(`${root}/work2/logs/s-${K}.log`)).toBe(true);
    expect(b2.leftoversOn.map((l) => l.workDir).sort()).toEqual([`${root}/work`, `${root}/work2`]);
    await moduleBuildProvider.delete!("id", b2);
    expect(fs.existsSync(`${root}/work`)).toBe(false);
    expect(fs.existsSync(`${root}/work2`)).toBe(false);
  });
});

describe("the kernel tree is prepared once per config", () => {
  const calls = () => (fs.existsSync(`${root}/work/jobs/${K}/s/prepare.calls`) ? fs.readFileSync(`${root}/work/jobs/${K}/s/prepare.calls`, "utf8") : "");
  const prepared = () => calls().includes("make modules_prepare");
  it("a rebuild with the same config skips modules_prepare; an in-tree set's options prepare the tree again, and so does the next build with the running config", async () => {
    const b1 = await build();
    expect(prepared()).toBe(true);
    fs.writeFileSync(`${root}/pair/version`, "v2");
    const b2 = await rebuild(b1, { sourceHash: "v2", sourceIdentity: "v2" });
    expect(prepared()).toBe(false);
    expect(fs.readFileSync(`${root}/work/logs/s-${K}.log`, "utf8")).toContain("make modules_prepare: already done for this config");
    await inTree("a", "ALPHA=m");
    expect(prepared()).toBe(true);
    fs.writeFileSync(`${root}/pair/version`, "v3");
    const b3 = await rebuild(b2, { sourceHash: "v3", sourceIdentity: "v3" });
    expect(b3.failure).toBe("");
    expect(prepared()).toBe(true);
    expect(fs.readFileSync(`${root}/work/src/${K}/linux/.config`, "utf8")).toBe("CONFIG_MODULES=y\n");
    expect(fs.readFileSync(`${root}/work/jobs/${K}/s/prepare.calls`, "utf8")).toBe("make olddefconfig\nmake modules_prepare\n");
    // A tree fetched again (another kernel's sources were there) is prepared again.
    fs.writeFileSync(`${root}/work/src/${K}/.kmod-fleet-kernel`, "another\n");
    fs.writeFileSync(`${root}/pair/version`, "v4");
    await rebuild(b3, { sourceHash: "v4", sourceIdentity: "v4" });
    expect(prepared()).toBe(true);
  });
  it("a tree whose .config is already the wanted config (a release's own tree) is not run through Kconfig, only prepared", async () => {
    fs.copyFileSync(`${root}/running.config`, `${root}/tree/.config`);
    try {
      const b = await build();
      expect(b.failure).toBe("");
      expect(calls()).toBe("make modules_prepare\n");
      expect(fs.readFileSync(`${root}/work/logs/s-${K}.log`, "utf8")).toContain("make olddefconfig: the tree's .config is already this config");
    } finally {
      fs.rmSync(`${root}/tree/.config`);
    }
  });
});

describe("in-tree directories", () => {

  it("a directory whose modules use another's symbols is built after it, with its Module.symvers", async () => {
    const r = await inTree("b a");
    expect(r.stdout).toMatch(/again, with the symbols of the directories built since: b/);
    // Built, for the store: installing them is install.sh's.
    expect(built("alpha")).toBe(K);
    expect(built("beta")).toBe(K);
    expect(fs.existsSync(`${root}/modules/${K}/extra`)).toBe(false);
    const calls = fs.readFileSync(`${root}/work/jobs/${K}/s/make.calls`, "utf8");
    expect(calls).toBe(`make M=b extra=[]\nmake M=a extra=[]\nmake M=b extra=[ /usr/src/linux/a/Module.symvers]\n`);
    // The options were set as asked: m for modules, y for a bool the preflight added.
    expect(fs.readFileSync(`${root}/work/src/${K}/linux/.config`, "utf8")).toBe("CONFIG_MODULES=y\nCONFIG_ALPHA=m\nCONFIG_BETA=m\nCONFIG_GAMMA=y\n");
  });

  it("OPTION=n is disabled before olddefconfig and stays off", async () => {
    await inTree("a", "ALPHA=m DELTA=n");
    expect(built("alpha")).toBe(K);
    expect(fs.readFileSync(`${root}/work/src/${K}/linux/.config`, "utf8")).toBe("CONFIG_MODULES=y\nCONFIG_ALPHA=m\n# CONFIG_DELTA is not set\n");
  });

  it("OPTION=n that olddefconfig turns on again (another option selects it) fails before anything is built", async () => {
    fs.writeFileSync(`${root}/tree/selects`, "CONFIG_DELTA=y\n");
    try {
      await expect(inTree("a", "ALPHA=m DELTA=n")).rejects.toThrow(/make olddefconfig turned CONFIG_DELTA on again: another option selects it/);
      expect(fs.existsSync(`${root}/work/jobs/${K}/s/make.calls`)).toBe(false);
    } finally {
      fs.rmSync(`${root}/tree/selects`);
    }
  });

  it("directories that can never be built fail with what is left, after one round without progress", async () => {
    fs.writeFileSync(`${root}/tree/a/needs`, "b");
    try {
      await expect(inTree("b a")).rejects.toThrow(/make M=<dir> modules failed for: b a/);
      expect(fs.readdirSync(`${root}/work/jobs/${K}/s/out`)).toEqual([]);
    } finally {
      fs.rmSync(`${root}/tree/a/needs`);
    }
  });
});
