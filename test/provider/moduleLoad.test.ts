// Loading a module set over real SSH, in a private mount namespace where /sys/module and
// the boot-time folders are empty tmpfs and modprobe/modinfo are stubs that keep their
// state there (a "loaded" module is a folder with its srcversion). No kernel is touched.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as fs from "fs";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { moduleLoadProvider, type ModuleLoadInputs } from "../../components/providers/moduleLoad/moduleLoad";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
let state: string;

// $S/installed/<name>: srcversion of the installed file, unless an installed file
// <modules>/<kernel>/extra/<set>/<name>.ko holds it; $S/fail: names modprobe refuses
// (missing symbols, also on --dry-run); $S/fail-init: srcversions whose init fails (the
// kernel refuses them at insert time only).
const srcversionOf = (S: string, M: string) => `srcv() { local f; for f in ${M}/*/extra/*/$1.ko; do [ -f "$f" ] && { cat "$f"; return; }; done; cat ${S}/installed/$1 2>/dev/null; }`;
const modprobe = (S: string, M: string) => `
${srcversionOf(S, M)}
r=0; dry=0
while [ $# -gt 0 ]; do case "$1" in -r) r=1 ;; --dry-run) dry=1 ;; --) shift; break ;; *) break ;; esac; shift; done
m=$1; shift
echo "modprobe r=$r dry=$dry $m $*" >> ${S}/calls
if [ $r = 0 ] && grep -qx -- "$m" ${S}/fail 2>/dev/null; then echo "modprobe: ERROR: could not insert '$m': Unknown symbol in module" >&2; exit 1; fi
[ $dry = 1 ] && exit 0
if [ $r = 0 ] && grep -qxF -- "$(srcv $m)" ${S}/fail-init 2>/dev/null; then echo "modprobe: ERROR: could not insert '$m': Invalid argument" >&2; exit 1; fi
d=/sys/module/\${m//-/_}
if [ $r = 1 ]; then rm -rf "$d"; exit 0; fi
mkdir -p "$d"; srcv $m > "$d/srcversion" || true; echo "$*" > "$d/params"`;
const modinfo = (S: string, M: string) => `
${srcversionOf(S, M)}
while [ $# -gt 0 ]; do case "$1" in -F) shift 2 ;; --) shift ;; *) m=$1; shift ;; esac; done
srcv $m || { echo "modinfo: ERROR: Module $m not found." >&2; exit 1; }`;

beforeAll(async () => {
  sshd = await startSshd({ namespace: { tmpfs: ["/sys/module", "/etc/modules-load.d", "/etc/modprobe.d"] } });
  state = `${sshd.dir}/state`;
  fs.writeFileSync(`${sshd.dir}/stubs/modprobe`, `#!/bin/bash\n${modprobe(state, `${sshd.dir}/modules`)}\n`, { mode: 0o755 });
  fs.writeFileSync(`${sshd.dir}/stubs/modinfo`, `#!/bin/bash\n${modinfo(state, `${sshd.dir}/modules`)}\n`, { mode: 0o755 });
  fs.writeFileSync(`${sshd.dir}/stubs/depmod`, `#!/bin/bash\necho "depmod $*" >> ${state}/calls\n`, { mode: 0o755 });
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});
beforeEach(async () => {
  fs.rmSync(state, { recursive: true, force: true });
  fs.rmSync(`${sshd.dir}/modules`, { recursive: true, force: true });
  fs.rmSync(`${sshd.dir}/work`, { recursive: true, force: true });
  fs.mkdirSync(`${state}/installed`, { recursive: true });
  for (const m of ["a", "b", "c", "e1000e"]) fs.writeFileSync(`${state}/installed/${m}`, `OURS-${m}\n`);
  await on("rm -rf /sys/module/* /etc/modules-load.d/* /etc/modprobe.d/*");
});

/** Runs a command inside the namespace (where the host scripts run). */
async function on(cmd: string): Promise<string> {
  return (await runScript(spec, cmd, { timeoutSeconds: 10 })).stdout.trim();
}
const loadedModules = async () => (await on("ls /sys/module")).split("\n").filter(Boolean);
const bootFile = () => on("grep -v '^#' /etc/modules-load.d/kmod-fleet-s.conf 2>/dev/null || echo '(none)'");
const fail = (...names: string[]) => fs.writeFileSync(`${state}/fail`, names.join("\n") + "\n");

const inputs = (over: Partial<ModuleLoadInputs> = {}): ModuleLoadInputs => ({
  connection: spec,
  set: "s",
  modules: ["a"],
  parameters: {},
  kernelRelease: "6.1.0-50-cloud-amd64",
  buildDigest: "a:1",
  modulesDir: `${sshd.dir}/modules`,
  workDir: `${sshd.dir}/work`,
  kernelConfig: "",
  commandTimeoutSeconds: 30,
  ...over,
});

describe("persist after success", () => {
  it("the boot-time files are written only after every modprobe succeeded; what the step loaded is unloaded again", async () => {
    fail("b");
    await expect(moduleLoadProvider.create(inputs({ modules: ["a", "b"] }))).rejects.toThrow(/modprobe b failed/);
    expect(await bootFile()).toBe("(none)");
    expect(await on("ls /etc/modprobe.d")).toBe("");
    expect(await loadedModules()).toEqual([]);
  });

  it("parameters are given to modprobe, and the options file is written after", async () => {
    const { outs } = await moduleLoadProvider.create(inputs({ modules: ["a"], parameters: { a: "greeting=hello n=3" } }));
    expect(outs).toMatchObject({ notLoaded: [], persisted: true });
    expect(await on("cat /sys/module/a/params")).toBe("greeting=hello n=3");
    expect(await on("grep -v '^#' /etc/modprobe.d/kmod-fleet-s.conf")).toBe("options a greeting=hello n=3");
  });

  it("a failed update keeps the previous boot-time files and modules", async () => {
    const { outs } = await moduleLoadProvider.create(inputs());
    fail("c");
    await expect(moduleLoadProvider.update!("id", outs, inputs({ modules: ["a", "c"] }))).rejects.toThrow(/modprobe c failed/);
    expect(await bootFile()).toBe("a");
    expect(await loadedModules()).toEqual(["a"]);
  });

  it("a changed set loads the new modules before unloading the old ones", async () => {
    const { outs } = await moduleLoadProvider.create(inputs());
    fail("c");
    await expect(moduleLoadProvider.update!("id", outs, inputs({ modules: ["c"] }))).rejects.toThrow(/modprobe c failed/);
    expect(await loadedModules()).toEqual(["a"]);
    expect(await bootFile()).toBe("a");
    fail();
    await moduleLoadProvider.update!("id", outs, inputs({ modules: ["c"] }));
    expect(await loadedModules()).toEqual(["c"]);
    expect(await bootFile()).toBe("c");
  });

  it("a rebuilt set whose new module modprobe cannot resolve leaves the previous modules loaded", async () => {
    const { outs } = await moduleLoadProvider.create(inputs());
    fs.writeFileSync(`${state}/installed/a`, "NEW-a\n");
    fail("a");
    await expect(moduleLoadProvider.update!("id", outs, inputs({ buildDigest: "a:2" }))).rejects.toThrow(/modprobe cannot load the new a/);
    expect(await on("cat /sys/module/a/srcversion")).toBe("OURS-a");
    fail();
    await moduleLoadProvider.update!("id", outs, inputs({ buildDigest: "a:2" }));
    expect(await on("cat /sys/module/a/srcversion")).toBe("NEW-a");
  });
  it("a rebuilt set the kernel refuses at load: the previous build goes back in its folder and is loaded again, with its parameters", async () => {
    const K = "6.1.0-50-cloud-amd64";
    const installed = `${sshd.dir}/modules/${K}/extra/s`;
    const previous = `${sshd.dir}/work/previous/${K}/s`;
    fs.mkdirSync(installed, { recursive: true });
    fs.writeFileSync(`${installed}/a.ko`, "OLD-a\n");
    const { outs } = await moduleLoadProvider.create(inputs({ parameters: { a: "n=1" } }));
    // What install.sh leaves after installing a new artifact: the new file installed, the old one kept.
    fs.mkdirSync(previous, { recursive: true });
    fs.renameSync(`${installed}/a.ko`, `${previous}/a.ko`);
    fs.writeFileSync(`${installed}/a.ko`, "NEW-a\n");
    fs.writeFileSync(`${state}/fail-init`, "NEW-a\n");
    await expect(moduleLoadProvider.update!("id", outs, inputs({ buildDigest: "a:2", parameters: { a: "n=2" } }))).rejects.toThrow(/modprobe a failed[\s\S]*the previous build of s is back in \S+[\s\S]*the previous a is loaded again/);
    expect(await on("cat /sys/module/a/srcversion")).toBe("OLD-a");
    expect(await on("cat /sys/module/a/params")).toBe("n=1");
    expect(fs.readFileSync(`${installed}/a.ko`, "utf8")).toBe("OLD-a\n");
    expect(fs.existsSync(previous)).toBe(false);
    // Nothing is left of the kept install, not even empty folders (a host that does not build has no work dir).
    expect(fs.existsSync(`${sshd.dir}/work`)).toBe(false);
    expect(await on(`grep -c 'depmod -a ${K}' ${state}/calls`)).toBe("1");
    expect(await bootFile()).toBe("a");
    expect(await on("grep -v '^#' /etc/modprobe.d/kmod-fleet-s.conf")).toBe("options a n=1");
  });

  it("a rebuilt set that loads: the kept previous build is removed", async () => {
    const K = "6.1.0-50-cloud-amd64";
    const previous = `${sshd.dir}/work/previous/${K}/s`;
    const { outs } = await moduleLoadProvider.create(inputs());
    fs.mkdirSync(previous, { recursive: true });
    fs.writeFileSync(`${previous}/a.ko`, "OLD-a\n");
    fs.writeFileSync(`${state}/installed/a`, "NEW-a\n");
    await moduleLoadProvider.update!("id", outs, inputs({ buildDigest: "a:2" }));
    expect(await on("cat /sys/module/a/srcversion")).toBe("NEW-a");
    expect(fs.existsSync(`${sshd.dir}/work/previous`)).toBe(false);
  });
});

describe("loaded means the installed file is what is loaded", () => {
  beforeEach(async () => {
    await on("mkdir -p /sys/module/e1000e && echo IN-TREE > /sys/module/e1000e/srcversion");
  });

  it("a module of the same name kmod-fleet did not install is refused, not counted as loaded", async () => {
    await expect(moduleLoadProvider.create(inputs({ modules: ["e1000e"] }))).rejects.toThrow(/e1000e is already loaded, but it is not the file kmod-fleet installed \(loaded srcversion 'IN-TREE', installed 'OURS-e1000e'\)/);
    expect(await bootFile()).toBe("(none)");
    const read = await moduleLoadProvider.read!("id", { ...inputs({ modules: ["e1000e"] }), notLoaded: [], persisted: true });
    expect(read.props.notLoaded).toEqual(["e1000e"]);
  });

  it("destroy never unloads a module kmod-fleet did not load", async () => {
    await moduleLoadProvider.delete!("id", { ...inputs({ modules: ["a", "e1000e"] }), notLoaded: [], persisted: true });
    expect(await on("cat /sys/module/e1000e/srcversion")).toBe("IN-TREE");
  });

  it("destroy unloads what it loaded and removes its boot-time files", async () => {
    const { outs } = await moduleLoadProvider.create(inputs({ modules: ["a", "b"] }));
    await moduleLoadProvider.delete!("id", outs);
    expect(await loadedModules()).toEqual(["e1000e"]);
    expect(await bootFile()).toBe("(none)");
  });
});
