// The whole lifecycle with the real Pulumi engine on the QEMU test fleet (3 hosts), starting
// with `npm run demo -- --hosts 3` itself and ending with a user's own program that uses the
// packed package (examples/fleet-from-machines). Scenarios run in order and share the fleet
// and the demo's stack; every check looks at the hosts over SSH, or at the local artifact
// store. Builds are shared: one per kernel and module set, on the first host by name that
// runs that kernel; every other host of the kernel installs the artifact. The last scenario
// needs only a fresh fleet: `-t "a user's program"` runs it alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { footprint, loaded, sh, Stack, testbed } from "./harness";
import { repoRoot } from "../../dev/toolchain/env";
import { DEMO_GREETING, DEMO_MODULES as PAIR, demoFleetConfig, demoModuleSet } from "../../demo/config";
import { EXAMPLE_PROJECT, installExample, packRepo } from "../package/example";
import { startRegistry } from "../registry/registry";
import { projectCopy } from "../registry/projectCopy";
import { RegistryArtifactStore } from "../../artifacts/registryStore";

const HOSTS = ["h1", "h2", "h3"];
// The demo's own stack (repo backend .pulumi/), so the test runs exactly what a newcomer does.
const stack = new Stack("demo", path.join(repoRoot, ".pulumi"));
// The demo stack's artifact store (build.store.path's default, under the project).
const STORE = path.join(repoRoot, ".kmod-fleet", "artifacts");
// The store as the in-tree scenario leaves it: the example program starts from a copy, so
// that it installs the demo's artifact for h1's kernel instead of building it again.
const EXAMPLE_STORE_SEED = path.join(repoRoot, ".cache", "e2e", "example-store");
// A module set that builds for one kernel and fails for the other (written in beforeAll).
const FLAKY_DIR = path.join(repoRoot, ".cache", "e2e", "flaky");
let baseFleet: Record<string, any>;
const before: Record<string, string> = {};
const kernels: Record<string, string> = {};
const osVersions: Record<string, string> = {};
/** The kernel of the update staged on h2 and h3. */
let stagedKernel = "";
const timings: Record<string, number> = {};

function names(steps: { name: string }[]): string[] {
  return [...new Set(steps.map((s) => s.name))].sort();
}

/** A preview's install steps as "name op", sorted: the engine lists the hosts' steps in the order they finish. */
function installSteps(changes: { name: string; op: string }[]): string[] {
  return changes.filter((c) => c.name.includes("-install-")).map((c) => `${c.name} ${c.op}`).sort();
}

const buildName = (set: string, kernel: string) => `build-${set}-${kernel}-x86_64`;
/** A host's install of a set, named after the boot slot of its kernel (every host boots slot a until an update). */
const installName = (h: string, set = "kmod-pair", slot = "a") => `${h}-${set}-install-${slot}`;

/** mtime of a set's build log on a host, or "none" when the host has never built it. */
async function buildLogMtime(h: string, kernel: string, set = "kmod-pair"): Promise<string> {
  return sh(h, `stat -c %Y /var/lib/kmod-fleet/logs/${set}-${kernel}.log 2>/dev/null || echo none`);
}

/** "<sha256>  <file>" lines of a host's installed set. */
async function installedSums(h: string, kernel: string, set = "kmod-pair"): Promise<string> {
  return sh(h, `cd /usr/lib/modules/${kernel}/extra/${set} && sha256sum *.ko`);
}

/** The manifests in the local artifact store. */
function storedManifests(): any[] {
  const dir = path.join(STORE, "artifacts");
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"))) : [];
}

/** Hosts whose lines (progress or errors, which name their host first) match `what`. */
function reportingHosts(output: string, what: string): string[] {
  return [...new Set([...output.matchAll(new RegExp(`(h\\d): ${what}`, "g"))].map((m) => m[1]))].sort();
}

beforeAll(async () => {
  // A fresh fleet: earlier tests or the demo may have left hosts on another kernel.
  if (testbed.readState()) await testbed.down();
  const state = await testbed.up({ hosts: 3 });
  expect(state.hosts.map((h) => h.name)).toEqual(HOSTS);
  baseFleet = await testbed.stackConfig();
  for (const h of HOSTS) {
    before[h] = await footprint(h);
    kernels[h] = await sh(h, "uname -r");
    osVersions[h] = await sh(h, ". /usr/share/flatcar/release; echo $FLATCAR_RELEASE_VERSION");
  }
  // The stack the demo would write, with an empty store; the demo finds it and runs on it.
  fs.rmSync(STORE, { recursive: true, force: true });
  stack.init(demoFleetConfig(baseFleet), fs.readFileSync(testbed.keyPath(), "utf8"));
}, 1_800_000);

afterAll(async () => {
  console.log(`e2e phase timings (s): ${JSON.stringify(timings)}`);
  fs.mkdirSync(path.join(repoRoot, ".cache", "e2e"), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, ".cache", "e2e", "timings.json"), JSON.stringify(timings, null, 2) + "\n");
  await testbed.down();
}, 120_000);

describe("kmod-fleet on the test fleet", () => {
  it("preview on a fresh fleet: one build on h1 for the fleet's kernel, the developer container on h1 only, an install and a load per host; nothing changes", async () => {
    const { steps, result } = stack.preview();
    timings.previewFresh = result.seconds;
    expect(kernels.h2).toBe(kernels.h1);
    expect(kernels.h3).toBe(kernels.h1);
    expect(steps.filter((s) => s.name.startsWith("build-")).map((s) => [s.name, s.op])).toEqual([[buildName("kmod-pair", kernels.h1), "create"]]);
    expect(steps.filter((s) => s.name.includes("-devcontainer")).map((s) => s.name)).toEqual([`h1-devcontainer-${osVersions.h1}`]);
    for (const h of HOSTS) {
      for (const r of ["facts", "overlay", "kmod-pair-install-a", "kmod-pair-load"]) {
        expect(steps.find((s) => s.name === `${h}-${r}`)?.op, `${h}-${r}`).toBe("create");
      }
      expect(await footprint(h)).toBe(before[h]);
    }
  });

  it("npm run demo -- --hosts 3 converges the fleet: built once on h1, installed and loaded on all three, identical sha256", async () => {
    const started = Date.now();
    const r = spawnSync("npm", ["run", "demo", "--", "--hosts", "3"], { cwd: repoRoot, encoding: "utf8", timeout: 1_800_000, maxBuffer: 64 * 1024 * 1024 });
    timings.demo = (Date.now() - started) / 1000;
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, output.slice(-6000)).toBe(0);
    // One build, on the builder (its progress lines may be shown more than once).
    expect(reportingHosts(output, "building kmod-pair for")).toEqual(["h1"]);
    expect(output).toMatch(/h3:\n {2}kernel: \S+\n {2}overlay: overlay [^\n]*\n {2}installed: pair_consumer.ko pair_provider.ko\n {2}loaded: pair_consumer pair_provider\n {2}developer container: none/);
    const k = kernels.h1;
    const sums = await installedSums("h1", k);
    for (const h of HOSTS) {
      expect(await sh(h, "findmnt -n -o FSTYPE,OPTIONS /usr/lib/modules")).toMatch(/^overlay .*upperdir=\/opt\/modules/);
      expect(await sh(h, "systemctl is-enabled usr-lib-modules.mount")).toBe("enabled");
      expect(await sh(h, `ls /usr/lib/modules/${k}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
      expect(await installedSums(h, k), h).toBe(sums);
      expect(await sh(h, `modinfo -F vermagic /usr/lib/modules/${k}/extra/kmod-pair/pair_consumer.ko`)).toMatch(new RegExp(`^${k} `));
      // depmod knows them: modprobe resolves the dependency of the consumer on the provider.
      expect(await sh(h, "modprobe --show-depends pair_consumer")).toMatch(/pair_provider\.ko[\s\S]*pair_consumer\.ko/);
      expect(await loaded(h, PAIR)).toEqual(PAIR);
      // Loaded in order: the consumer holds the provider.
      expect(await sh(h, "ls /sys/module/pair_provider/holders")).toBe("pair_consumer");
      expect(await sh(h, "cat /sys/module/pair_consumer/parameters/greeting")).toBe(DEMO_GREETING);
      expect(await sh(h, "cat /etc/modules-load.d/kmod-fleet-kmod-pair.conf | grep -v '^#'")).toBe("pair_provider\npair_consumer");
      expect(await sh(h, "cat /etc/modprobe.d/kmod-fleet-kmod-pair.conf | grep -v '^#'")).toBe(`options pair_consumer greeting=${DEMO_GREETING}`);
    }
    // The developer container and the kernel sources are on the builder only.
    expect(await sh("h1", "ls /var/cache/kmod-fleet/*/")).toMatch(/developer_container.bin\s+verified/);
    // ... where the reboot gate is the only thing of kmod-fleet's in its work folder.
    for (const h of ["h2", "h3"]) {
      expect(await sh(h, "ls -d /var/cache/kmod-fleet 2>/dev/null; ls -A /var/lib/kmod-fleet 2>/dev/null; true"), h).toBe("reboot-gate");
    }
    // One artifact in the local store, with the sha256 every host has.
    const manifests = storedManifests();
    expect(manifests.map((m) => [m.set, m.kernelRelease, m.builtOn])).toEqual([["kmod-pair", k, "h1"]]);
    expect(manifests[0].modules.map((m: any) => `${m.sha256}  ${m.name}.ko`).sort().join("\n")).toBe(sums.split("\n").sort().join("\n"));
  });

  it("the SSH key stays a secret in state", () => {
    const exported = stack.cli(["stack", "export"]).stdout;
    const keyBody = fs.readFileSync(testbed.keyPath(), "utf8").split("\n")[1];
    expect(exported).not.toContain(keyBody);
    expect(exported).toContain("4dabf18193072939515e22adb298388d");
  });

  it("a second up changes nothing and builds nothing", async () => {
    const mtime = await buildLogMtime("h1", kernels.h1);
    const r = stack.up();
    timings.upNoop = r.seconds;
    expect(r.output).not.toMatch(/building kmod-pair/);
    expect(r.output).not.toMatch(/\d+ (created|updated|replaced|deleted)/);
    expect(await buildLogMtime("h1", kernels.h1)).toBe(mtime);
    const refresh = stack.preview(["--refresh"]);
    timings.previewRefreshNoop = refresh.result.seconds;
    expect(refresh.changes).toEqual([]);
  });

  it("a new modulesRoot moves the installed modules in place on every host; after a reboot of a host that does not build they come back by themselves", async () => {
    // The overlay's upper dir moves: the modules are copied before the boot config points at
    // the new folder, and the old folder goes last, so no boot ever finds them missing.
    const movedRoot = "/opt/kmod-modules";
    baseFleet = { ...baseFleet, storage: { ...((baseFleet.storage as object) ?? {}), modulesRoot: movedRoot } };
    stack.setFleet(demoFleetConfig(baseFleet));
    expect(stack.preview().changes.map((c) => `${c.name} ${c.op}`).sort()).toEqual(HOSTS.map((h) => `${h}-overlay update`));
    const r = stack.up();
    timings.upMoveModulesRoot = r.seconds;
    expect(r.output).not.toMatch(/building kmod-pair|installing kmod-pair/);
    const sums = await installedSums("h1", kernels.h1);
    for (const h of HOSTS) {
      expect(await sh(h, "findmnt -n -o OPTIONS /usr/lib/modules")).toContain(`upperdir=${movedRoot},workdir=${movedRoot}.wd`);
      expect(await sh(h, "grep '^Options=' /etc/systemd/system/usr-lib-modules.mount")).toContain(`upperdir=${movedRoot},`);
      expect(await sh(h, `ls ${movedRoot}/${kernels[h]}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
      expect(await installedSums(h, kernels[h]), h).toBe(sums);
      expect(await sh(h, "ls -d /opt/modules /opt/modules.wd 2>/dev/null; true")).toBe("");
      expect(await loaded(h, PAIR)).toEqual(PAIR);
    }
    await testbed.reboot("h2");
    expect(await sh("h2", "stat -f -c %T /usr/lib/modules/")).toBe("overlayfs");
    expect(await sh("h2", `ls /usr/lib/modules/${kernels.h2}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
    expect(await loaded("h2", PAIR)).toEqual(PAIR);
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("drift on a host that does not build is repaired from the artifact, without compiling; a lost store is refilled from a host", async () => {
    const k = kernels.h1;
    const sums = await installedSums("h1", k);
    const mtime = await buildLogMtime("h1", k);
    await sh("h2", `rm /usr/lib/modules/${k}/extra/kmod-pair/pair_consumer.ko && modprobe -r pair_consumer && umount /usr/lib/modules`);
    const { changes } = stack.preview(["--refresh"]);
    expect(names(changes)).toEqual([installName("h2"), "h2-kmod-pair-load", "h2-overlay"]);
    const r = stack.up(["--refresh"], { allowFail: true });
    timings.upRepair = r.seconds;
    if (r.code !== 0) {
      // What the host shows when the repair fails, for the log.
      console.log(await sh("h2", `set +e; findmnt -R /usr; ls -la /usr/lib/modules/${k}/extra/kmod-pair; grep -n kmod-pair /usr/lib/modules/${k}/modules.dep; modprobe -n -v pair_provider; lsmod | grep pair; dmesg | tail -n 15; true`));
    }
    expect(r.code, r.output.slice(-3000)).toBe(0);
    expect(r.output).not.toMatch(/building kmod-pair/);
    expect(await buildLogMtime("h1", k)).toBe(mtime);
    expect(await sh("h2", "stat -f -c %T /usr/lib/modules/")).toBe("overlayfs");
    expect(await installedSums("h2", k)).toBe(sums);
    expect(await loaded("h2", PAIR)).toEqual(PAIR);
    expect(await sh("h2", "ls -d /var/cache/kmod-fleet 2>/dev/null; ls -A /var/lib/kmod-fleet 2>/dev/null; true")).toBe("reboot-gate");
    expect(stack.preview(["--refresh"]).changes).toEqual([]);

    // The store is gone (a new machine, a deleted folder): the preview says the artifact is
    // taken back from a host that has it; up does that, compiles nothing, and installs nothing.
    fs.rmSync(STORE, { recursive: true, force: true });
    const missing = stack.preview();
    expect(missing.changes.map((c) => [c.name, c.op])).toEqual([[buildName("kmod-pair", k), "update"]]);
    expect(missing.result.output).toContain(`kmod-pair for ${k} (x86_64): not in the artifact store`);
    expect(missing.result.output).toContain("it will be taken back from h1, where it is installed");
    const back = stack.up();
    timings.upTakeBack = back.seconds;
    expect(back.output).toMatch(/h1: taking kmod-pair for \S+ back into the artifact store/);
    expect(back.output).not.toMatch(/building kmod-pair/);
    expect(await buildLogMtime("h1", k)).toBe(mtime);
    expect(storedManifests().map((m) => m.modules.map((x: any) => `${x.sha256}  ${x.name}.ko`).sort().join("\n"))).toEqual([sums.split("\n").sort().join("\n")]);
    expect(stack.preview().changes).toEqual([]);
  });

  it("a failed rebuild and a refused reload leave the working modules installed, loaded and listed on every host", async () => {
    // Two edits of the demo's source: one that does not compile, one whose pair_consumer
    // the kernel refuses at load (its init fails). Neither may cost the hosts what works.
    const k = kernels.h1;
    const fixture = path.join(repoRoot, "dev", "testbed", "fixtures", "kmod-pair");
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-e2e-"));
    const variant = (name: string, edit: (c: string) => string): string => {
      const dir = path.join(scratch, name);
      fs.cpSync(fixture, dir, { recursive: true });
      const file = path.join(dir, "pair_consumer.c");
      fs.writeFileSync(file, edit(fs.readFileSync(file, "utf8")));
      return dir;
    };
    const withSource = (dir: string) => demoFleetConfig(baseFleet, [{ ...demoModuleSet(), source: { dir } }]);
    const working: Record<string, string> = {};
    const srcversions = (h: string) => sh(h, "cat /sys/module/pair_consumer/srcversion /sys/module/pair_provider/srcversion");
    const state = async (h: string) => [await installedSums(h, k), await srcversions(h), await sh(h, "grep -v '^#' /etc/modules-load.d/kmod-fleet-kmod-pair.conf")].join("\n");
    for (const h of HOSTS) working[h] = await state(h);
    const workingSrcversions = await srcversions("h1");

    // A source that does not compile: an update of the build (never a delete first) that
    // records the failure; each host's install reports it and keeps what it has.
    stack.setFleet(withSource(variant("broken", (c) => `${c}\n#error kmod-fleet e2e: this source does not compile\n`)));
    const { changes } = stack.preview();
    expect(changes.filter((c) => c.name.startsWith("build-")).map((c) => `${c.name} ${c.op}`)).toEqual([`${buildName("kmod-pair", k)} update`]);
    expect(installSteps(changes)).toEqual(HOSTS.map((h) => `${installName(h)} update`));
    // --continue-on-error: without it Pulumi starts no new step after the first host fails,
    // and the other hosts' loads would never run (see "Limits").
    let r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upFailedRebuild = r.seconds;
    expect(r.code).not.toBe(0);
    expect(reportingHosts(r.output, `cannot install kmod-pair for ${k}`)).toEqual(HOSTS);
    expect(r.output).toMatch(new RegExp(`h3: cannot install kmod-pair for ${k}: the build of kmod-pair for ${k} \\(x86_64, OS ${osVersions.h1.replaceAll(".", "\\.")}\\) on h1 failed:[\\s\\S]*this source does not compile[\\s\\S]*full log on h1: /var/lib/kmod-fleet/logs/kmod-pair-${k}\\.log`));
    for (const h of HOSTS) expect(await state(h), h).toBe(working[h]);

    // A source that builds but that the kernel refuses: each host installs it, keeping the
    // install it replaced; the load puts that back and loads it again.
    stack.setFleet(withSource(variant("refused", (c) => c.replace("return 0;", "return -EINVAL;"))));
    r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upRefusedReload = r.seconds;
    expect(r.code).not.toBe(0);
    expect(reportingHosts(r.output, "building kmod-pair for")).toEqual(["h1"]);
    expect(reportingHosts(r.output, "loading pair_provider, pair_consumer failed")).toEqual(HOSTS);
    expect(r.output).toMatch(/modprobe pair_consumer failed[\s\S]*the previous build of kmod-pair is back in \/usr\/lib\/modules\//);
    for (const h of HOSTS) {
      expect(await state(h), h).toBe(working[h]);
      expect(await sh(h, "ls -A /var/lib/kmod-fleet/previous 2>/dev/null; true"), h).toBe("");
    }
    fs.rmSync(scratch, { recursive: true, force: true });

    // The demo's source again. Its artifact left the store when the refused one replaced it,
    // and the state holds only the refused one's manifest, so the hosts' copies cannot be
    // checked: it is built again, once; one up with refresh converges every host.
    stack.setFleet(demoFleetConfig(baseFleet));
    r = stack.up(["--refresh"]);
    timings.upBackToWorkingSource = r.seconds;
    expect(r.output).toMatch(/kmod-pair for \S+ is not taken back: no manifest of it is recorded/);
    expect(reportingHosts(r.output, "building kmod-pair for")).toEqual(["h1"]);
    const sums = await installedSums("h1", k);
    for (const h of HOSTS) {
      expect(await installedSums(h, k), h).toBe(sums);
      expect(await srcversions(h), h).toBe(workingSrcversions);
      expect(await loaded(h, PAIR)).toEqual(PAIR);
    }
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("an update staged on h2 and h3, before their reboot: one build for the staged kernel, installed on those two only, the running modules untouched; a set that fails for it is reported by both, naming the release", async () => {
    const old = kernels.h1;
    const h1Log = await buildLogMtime("h1", old);
    const srcversions = (h: string) => sh(h, "cat /sys/module/pair_consumer/srcversion /sys/module/pair_provider/srcversion");
    const running = async (h: string) => [await installedSums(h, old), await srcversions(h), await sh(h, "grep -v '^#' /etc/modules-load.d/kmod-fleet-kmod-pair.conf")].join("\n");
    const runningBefore: Record<string, string> = {};
    let staged = { to: "", osVersion: "" };
    for (const h of ["h2", "h3"]) {
      runningBefore[h] = await running(h);
      staged = await testbed.updateKernel(h);
      expect(await sh(h, "uname -r")).toBe(old);
    }
    const k = (stagedKernel = staged.to);
    expect(k).not.toBe(old);
    const { changes } = stack.preview();
    expect(changes.filter((c) => c.name.startsWith("build-")).map((c) => [c.name, c.op])).toEqual([[buildName("kmod-pair", k), "create"]]);
    expect(installSteps(changes)).toEqual(["h2", "h3"].map((h) => `${installName(h, "kmod-pair", "b")} create`));
    // The staged release's developer container, on the first of its hosts; nothing is loaded or changes on h1.
    expect(changes.filter((c) => c.name.includes("-devcontainer")).map((c) => [c.name, c.op])).toEqual([[`h2-devcontainer-${staged.osVersion}`, "create"]]);
    expect(changes.filter((c) => c.name.endsWith("-load"))).toEqual([]);
    expect(changes.filter((c) => c.name.startsWith("h1")), JSON.stringify(changes)).toEqual([]);

    // flaky builds for the running kernel (on h1, for all three) and fails for the staged one.
    fs.rmSync(FLAKY_DIR, { recursive: true, force: true });
    fs.mkdirSync(FLAKY_DIR, { recursive: true });
    fs.writeFileSync(path.join(FLAKY_DIR, "Kbuild"), `ifeq ($(KERNELRELEASE),${k})\n$(error flaky does not build for $(KERNELRELEASE): the e2e test's failing group)\nendif\nobj-m += flaky.o\n`);
    fs.writeFileSync(path.join(FLAKY_DIR, "flaky.c"), '#include <linux/module.h>\nstatic int __init flaky_init(void) { return 0; }\nstatic void __exit flaky_exit(void) {}\nmodule_init(flaky_init);\nmodule_exit(flaky_exit);\nMODULE_LICENSE("GPL");\n');
    stack.setFleet(demoFleetConfig(baseFleet, [demoModuleSet(), { name: "flaky", source: { dir: ".cache/e2e/flaky" }, load: ["flaky"] }]));
    const r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upStaged = r.seconds;
    expect(r.code).not.toBe(0);
    // Built once, on h2, for the staged kernel; h1's build for the running kernel is as it was.
    expect(reportingHosts(r.output, "building kmod-pair for")).toEqual(["h2"]);
    expect(await buildLogMtime("h1", old)).toBe(h1Log);
    // The failing build for the staged kernel: each of its hosts reports it before any reboot, naming the release.
    expect(reportingHosts(r.output, `cannot install flaky for ${k}`)).toEqual(["h2", "h3"]);
    for (const h of ["h2", "h3"]) {
      expect(r.output).toMatch(new RegExp(`${h}: cannot install flaky for ${k}: the build of flaky for ${k} \\(x86_64, OS ${staged.osVersion.replaceAll(".", "\\.")}\\) on h2 failed:[\\s\\S]*the e2e test's failing group[\\s\\S]*full log on h2: /var/lib/kmod-fleet/logs/flaky-${k}\\.log`));
    }
    const stagedSums = await installedSums("h2", k);
    expect(await installedSums("h3", k)).toBe(stagedSums);
    expect(storedManifests().find((m) => m.kernelRelease === k && m.set === "kmod-pair").modules.map((m: any) => `${m.sha256}  ${m.name}.ko`).sort().join("\n")).toBe(stagedSums.split("\n").sort().join("\n"));
    for (const h of ["h2", "h3"]) {
      expect(await sh(h, "uname -r")).toBe(old);
      expect(await running(h), h).toBe(runningBefore[h]);
      expect(await loaded(h, [...PAIR, "flaky"])).toEqual([...PAIR, "flaky"]);
      expect(await sh(h, `ls -A /usr/lib/modules/${k}/extra/`)).toBe("kmod-pair");
      expect(await sh(h, `modinfo -F vermagic /usr/lib/modules/${k}/extra/kmod-pair/pair_consumer.ko`)).toMatch(new RegExp(`^${k} `));
    }
    // h3 builds nothing: no developer container, no kernel sources, only what its boot needs (and its reboot gate).
    expect(await sh("h3", "ls -d /var/cache/kmod-fleet 2>/dev/null; ls -A /var/lib/kmod-fleet")).toBe("depmod-at-boot\nreboot-gate");
  });

  it("the reboot into the staged release finds the modules loaded by the boot itself, with no pulumi run in between; then nothing is built or installed, and the old kernel's modules go", async () => {
    const old = kernels.h1;
    stack.setFleet(demoFleetConfig(baseFleet));
    stack.up();
    const k = stagedKernel;
    expect(k).not.toBe("");
    const stagedManifest = storedManifests().find((m) => m.kernelRelease === k && m.set === "kmod-pair");
    const reboots = await Promise.all(["h2", "h3"].map((h) => testbed.reboot(h)));
    timings.rebootStaged = Math.max(...reboots.map((x) => x.seconds));
    for (const h of ["h2", "h3"]) {
      // Right after SSH answers: loaded, by systemd-modules-load, from the staged build.
      expect(await loaded(h, PAIR), h).toEqual(PAIR);
      kernels[h] = await sh(h, "uname -r");
      expect(kernels[h]).toBe(k);
      expect(await sh(h, "cat /sys/module/pair_consumer/srcversion")).toBe(stagedManifest.modules.find((m: any) => m.name === "pair_consumer").srcversion);
      expect(await sh(h, "cat /sys/module/pair_consumer/parameters/greeting")).toBe(DEMO_GREETING);
      const journal = await sh(h, "journalctl -b -u systemd-modules-load --no-pager -o cat");
      expect(journal).toMatch(/Inserted module 'pair_provider'/);
      expect(journal).toMatch(/Inserted module 'pair_consumer'/);
      // The gap the README reports: from the module's load to sshd listening (> 0: loaded first).
      const at = async (unit: string, text: string) => Number(await sh(h, `journalctl -b --no-pager -o short-unix -u ${unit} | grep -F "${text}" | head -n 1 | cut -d' ' -f1`));
      const loadedAt = await at("systemd-modules-load", "Inserted module 'pair_consumer'");
      const sshAt = await at("ssh", "Server listening");
      timings[`loadedBeforeSsh_${h}`] = Math.round((sshAt - loadedAt) * 10) / 10;
      expect(sshAt).toBeGreaterThan(loadedAt);
      // depmod ran at that boot, before the load, and is not run again.
      expect(await sh(h, `grep -c extra/kmod-pair/ /usr/lib/modules/${k}/modules.dep; ls -A /var/lib/kmod-fleet/depmod-at-boot 2>/dev/null; true`)).toBe("2");
    }
    // Nothing to build or install; the installs for the old kernel (slot a) go now that the hosts have run the new one.
    const { changes } = stack.preview(["--refresh"]);
    expect(changes.filter((c) => c.name.startsWith("build-") || c.name.includes("-devcontainer"))).toEqual([]);
    expect(installSteps(changes)).toEqual(["h2", "h3"].map((h) => `${installName(h)} delete`));
    const r = stack.up(["--refresh"]);
    timings.upAfterStagedReboot = r.seconds;
    expect(r.output).not.toMatch(/building kmod-pair/);
    for (const h of ["h2", "h3"]) {
      expect(await sh(h, `ls -d /usr/lib/modules/${old} 2>/dev/null; true`)).toBe("");
      expect(await loaded(h, PAIR)).toEqual(PAIR);
    }
    expect(await loaded("h1", PAIR)).toEqual(PAIR);
    expect(stack.preview().changes).toEqual([]);
  });

  it("an in-tree set is built from its options alone; a dead end is refused before building", async () => {
    const old = kernels.h1;
    // SND_DUMMY: the cloud kernel has no sound core, so its new modules span sound/,
    // sound/core and sound/drivers, and snd_dummy uses what snd and snd_pcm export. The set
    // names only the option and the module: the dependencies (SOUND, SND, SND_DRIVERS) and
    // the directories come from the preflight. i915 needs bool options (HDMI, SYNC_FILE, ...)
    // the cloud kernel lacks.
    stack.setFleet(
      demoFleetConfig(baseFleet, [
        demoModuleSet(),
        { name: "snd", source: { inTree: { options: ["SND_DUMMY"] } }, load: ["snd_dummy"], hosts: { names: ["h1"] } },
        { name: "i915", source: { inTree: { options: ["DRM_I915"], directories: ["drivers/gpu/drm/i915"] } }, load: ["i915"], hosts: { names: ["h1"] } },
      ]),
    );
    const { changes } = stack.preview();
    // h1's reboot gate waits for the new sets too.
    expect(names(changes)).toEqual([buildName("i915", old), buildName("snd", old), installName("h1", "i915"), "h1-i915-load", "h1-reboot-gate", installName("h1", "snd"), "h1-snd-load"].sort());
    const r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upInTree = r.seconds;
    expect(r.code).not.toBe(0);
    expect(await sh("h1", `ls -A /usr/lib/modules/${old}/extra/`)).toBe("kmod-pair\nsnd");
    // The in-tree set: the options the preflight added and the directory of the new modules.
    expect(r.output).toMatch(/h1: snd: setting SND_DUMMY=m SOUND=m SND=m SND_DRIVERS=y; building in sound/);
    const built = (await sh("h1", `ls /usr/lib/modules/${old}/extra/snd/`)).split("\n").sort();
    expect(built).toEqual(expect.arrayContaining(["snd-dummy.ko", "snd-pcm.ko", "snd-timer.ko", "snd.ko", "soundcore.ko"]));
    expect(await sh("h1", `modinfo -F vermagic /usr/lib/modules/${old}/extra/snd/snd-dummy.ko`)).toMatch(new RegExp(`^${old} `));
    // modprobe loaded what snd_dummy needs, from this set's folder, in depmod's order.
    expect(await sh("h1", "modprobe --show-depends snd_dummy")).toMatch(/extra\/snd\/snd\.ko[\s\S]*extra\/snd\/snd-pcm\.ko[\s\S]*extra\/snd\/snd-dummy\.ko/);
    expect(await loaded("h1", ["snd_dummy", "snd_pcm", "snd_timer", "snd"])).toEqual(["snd_dummy", "snd_pcm", "snd_timer", "snd"]);
    expect(await sh("h1", "ls /sys/module/snd_pcm/holders")).toContain("snd_dummy");
    expect(await sh("h1", "grep -v '^#' /etc/modules-load.d/kmod-fleet-snd.conf")).toBe("snd_dummy");
    // The dead end: named with its cause by h1, and nothing of i915 was compiled or installed.
    expect(r.output).toMatch(/h1: cannot install i915[\s\S]*dead end[\s\S]*HDMI/i);
    expect(r.output).toMatch(/SYNC_FILE/);
    expect(await sh("h1", "find /var/lib/kmod-fleet -name 'i915*.o' | head -n 1")).toBe("");
    expect(await loaded("h2", ["snd_dummy"])).toEqual([]);
  });

  it("a bad signature fails that host with a clear error and leaves nothing; the other hosts converge", async () => {
    // Back to the demo's set, and h1 out of the stack alone (a targeted destroy of h1 and what
    // depends on it: the build h1 made for its kernel), so that it must fetch its image again;
    // the release server now signs that image wrongly. h2 has drift to repair.
    fs.rmSync(EXAMPLE_STORE_SEED, { recursive: true, force: true });
    fs.cpSync(STORE, EXAMPLE_STORE_SEED, { recursive: true });
    stack.setFleet(demoFleetConfig(baseFleet));
    stack.up();
    const h1 = stack.urnsOf(/^h1(-|$)/).flatMap((urn) => ["--target", urn]);
    stack.cli(["destroy", "--yes", "--skip-preview", ...h1, "--target-dependents"]);
    expect(await footprint("h1")).toBe(before.h1);
    expect(storedManifests().map((m) => m.kernelRelease)).toEqual([kernels.h2]);
    for (const h of ["h2", "h3"]) expect(await loaded(h, PAIR)).toEqual(PAIR);
    const version = await sh("h1", ". /usr/share/flatcar/release; echo $FLATCAR_RELEASE_VERSION");
    await sh("h2", "modprobe -r pair_consumer");
    testbed.setReleaseMode("bad-signature", version);
    try {
      const r = stack.up(["--refresh", "--continue-on-error"], { allowFail: true });
      timings.upBadSignature = r.seconds;
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/h1: fetching the developer container for OS \S+ failed[\s\S]*BAD SIGNATURE/);
      expect(await sh("h1", "ls -d /var/cache/kmod-fleet 2>/dev/null; true")).toBe("");
      expect(await sh("h1", `ls -A /usr/lib/modules/${kernels.h1}/extra 2>/dev/null; true`)).toBe("");
      expect(await loaded("h1", PAIR)).toEqual([]);
      for (const h of ["h2", "h3"]) expect(await loaded(h, PAIR)).toEqual(PAIR);
    } finally {
      testbed.setReleaseMode("ok", version);
    }
    // With the release server fixed, the next up retries exactly what failed on h1: its image,
    // the build for its kernel and what needs it (that up is the first up of a kernel again, proven above).
    expect(names(stack.preview().changes)).toEqual([buildName("kmod-pair", kernels.h1), `h1-devcontainer-${version}`, installName("h1"), "h1-kmod-pair-load"].sort());
  });

  it("destroy puts every host back as it was and empties the artifact store", async () => {
    const r = stack.cli(["destroy", "--yes", "--skip-preview"]);
    timings.destroy = r.seconds;
    for (const h of HOSTS) {
      expect(await loaded(h, PAIR)).toEqual([]);
      expect(await footprint(h)).toBe(before[h]);
    }
    expect(storedManifests()).toEqual([]);
  });

  // A team's store on an OCI registry (Debian's docker-registry on loopback, with a login),
  // used by two stacks: the first builds on h2 and pushes; a second one, from another
  // checkout with empty state (a CI runner), installs on h3 with no build and no developer
  // container. Both hosts pull the files from the registry themselves, through QEMU's
  // address for the machine (10.0.2.2). Needs only a fresh fleet: `-t "registry"` runs it alone.
  it("a team's registry store: one build on h2 pushed once, h2 and h3 pull the files themselves; a second stack from another checkout builds nothing", async () => {
    const registry = await startRegistry();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-e2e-registry-"));
    const port = new URL(registry.url).port;
    const access = { url: registry.url, repository: "team/kmod-fleet", username: registry.username, password: registry.password };
    const store = { registry: { url: registry.url, hostUrl: `http://10.0.2.2:${port}`, repository: access.repository, username: access.username, passwordConfig: "registryPassword", insecureHttp: true } };
    const stackOn = (name: string, h: string, projectDir: string) => {
      const s = new Stack(name, path.join(work, `state-${name}`), projectDir);
      const fleet = demoFleetConfig({ ...baseFleet, hosts: (baseFleet.hosts as any[]).filter((x) => x.name === h), build: { ...((baseFleet.build as object) ?? {}), store } });
      s.initWith({ "kmod-fleet:fleet": fleet }, { "kmod-fleet:sshPrivateKey": fs.readFileSync(testbed.keyPath(), "utf8"), "kmod-fleet:registryPassword": registry.password });
      return s;
    };
    const outputsOf = (s: Stack): Map<string, any> =>
      new Map((JSON.parse(s.cli(["stack", "export"]).stdout).deployment?.resources ?? []).map((r: any) => [String(r.urn).split("::").pop(), r.outputs ?? {}]));
    const team = stackOn("team", "h2", repoRoot);
    const ci = stackOn("ci", "h3", projectCopy(path.join(work, "ci-checkout")));
    const k = kernels.h2;
    expect(kernels.h3).toBe(k);
    try {
      // The first stack: built once on h2, pushed, and pulled by h2 from the registry.
      const a = team.up();
      timings.upRegistryBuild = a.seconds;
      expect(reportingHosts(a.output, "building kmod-pair for")).toEqual(["h2"]);
      const teamOutputs = outputsOf(team);
      const manifest = teamOutputs.get(buildName("kmod-pair", k)).manifest;
      expect(teamOutputs.get(buildName("kmod-pair", k)).obtained).toBe("built on h2");
      const pulledOn = (outputs: Map<string, any>, h: string) => [...outputs].filter(([n]) => n.startsWith(`${h}-kmod-pair-install-`)).map(([, o]) => o.filesFrom);
      expect(pulledOn(teamOutputs, "h2")).toEqual([expect.stringMatching(/^pulled by the host from oci:\/\//)]);
      expect(await new RegistryArtifactStore(access).has(manifest)).toBe(true);
      const sums = await installedSums("h2", k);
      expect(manifest.modules.map((m: any) => `${m.sha256}  ${m.name}.ko`).sort().join("\n")).toBe(sums.split("\n").sort().join("\n"));
      expect(await loaded("h2", PAIR)).toEqual(PAIR);

      // The second stack, from another checkout with no state and no local store: the
      // artifact is found in the registry, h3 pulls it; nothing is built or downloaded for a build.
      const b = ci.up();
      timings.upRegistrySecondStack = b.seconds;
      expect(b.output).not.toMatch(/building kmod-pair|fetching the developer container/);
      const ciOutputs = outputsOf(ci);
      expect([...ciOutputs].filter(([n]) => n.startsWith("build-")).map(([, o]) => o.obtained)).toEqual(["found in the store"]);
      expect([...ciOutputs.keys()].filter((n) => n.includes("devcontainer"))).toEqual([]);
      expect(pulledOn(ciOutputs, "h3")).toEqual([expect.stringMatching(/^pulled by the host from oci:\/\//)]);
      expect(await installedSums("h3", k)).toBe(sums);
      expect(await loaded("h3", PAIR)).toEqual(PAIR);
      expect(await sh("h3", "ls -d /var/cache/kmod-fleet 2>/dev/null; true")).toBe("");
      // The login never reaches a stack file or the state in clear, nor stays on a host.
      for (const s of [team, ci]) {
        expect(fs.readFileSync(s.configFile, "utf8")).not.toContain(registry.password);
        expect(s.cli(["stack", "export"]).stdout).not.toContain(registry.password);
      }
      for (const h of ["h2", "h3"]) expect(await sh(h, `grep -rls -F ${registry.password} /var/lib/kmod-fleet /tmp 2>/dev/null; true`), h).toBe("");

      // The second stack goes first: the artifact it did not build stays for the team; then
      // the team's stack removes what it built, from its host and from the registry.
      ci.cli(["destroy", "--yes", "--skip-preview"]);
      expect(await footprint("h3")).toBe(before.h3);
      expect(await new RegistryArtifactStore(access).has(manifest)).toBe(true);
      team.cli(["destroy", "--yes", "--skip-preview"]);
      expect(await footprint("h2")).toBe(before.h2);
      expect(await new RegistryArtifactStore(access).has(manifest)).toBe(false);
    } finally {
      for (const s of [ci, team]) {
        s.cli(["destroy", "--yes", "--skip-preview"], { allowFail: true });
        s.destroyState();
      }
      await registry.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  // The fleet is clean again. A user's own program (examples/fleet-from-machines), with
  // kmod-fleet installed from the packed tarball, in a stack of its own: h1 is a resource of
  // that program (a test-fleet host wrapped as a dynamic resource), so its address and host
  // key are outputs known only after that resource is created, and the preview cannot put it
  // in a build group. One host and the demo's out-of-tree set keep it to one converge; its
  // own artifact store starts as a copy of the demo's, so up installs the artifact for h1's
  // kernel from it (run alone, on a fresh fleet, it builds on h1).
  it("a user's program with h1 from another resource's outputs: preview plans h1 unprobed, up converges it, destroy puts it back", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-e2e-example-"));
    const exampleDir = installExample(packRepo(work), path.join(work, "example"));
    const example = new Stack("e2e", path.join(work, "state"), exampleDir);
    // The example's own store, seeded with the demo's artifacts when the earlier scenarios ran.
    const seeded = fs.existsSync(EXAMPLE_STORE_SEED);
    if (seeded) fs.cpSync(EXAMPLE_STORE_SEED, path.join(exampleDir, ".kmod-fleet", "artifacts"), { recursive: true });
    const key = (k: string) => `${EXAMPLE_PROJECT}:${k}`;
    const set = demoModuleSet();
    try {
      example.initWith(
        {
          [key("hosts")]: ["h1"],
          [key("testbedState")]: path.join(testbed.runDir(), "fleet.json"),
          [key("profile")]: baseFleet.profile,
          [key("kernelConfigSources")]: baseFleet.kernelConfigSources,
          [key("kmodPairSources")]: path.join(repoRoot, set.source.dir),
        },
        { [key("sshPrivateKey")]: fs.readFileSync(testbed.keyPath(), "utf8") },
      );

      const { steps, result } = example.preview();
      timings.examplePreview = result.seconds;
      for (const r of ["machine", "facts", "overlay", "kmod-pair-install-a", "kmod-pair-load"]) {
        expect(steps.find((s) => s.name === `h1-${r}`)?.op, `h1-${r}`).toBe("create");
      }
      expect(steps.some((s) => s.name.startsWith("h2"))).toBe(false);
      // h1 was not probed: its kernel, and so its build group, is not known to the preview;
      // the build and the developer container come with up.
      expect(steps.filter((s) => /^build-|-devcontainer/.test(s.name))).toEqual([]);
      expect(result.output).toMatch(/h1: its address or host key is not known/);
      const json = JSON.parse(result.stdout.slice(result.stdout.indexOf("{")));
      const inputsOf = (name: string) => json.steps.find((s: any) => String(s.urn).endsWith(`::${name}`)).newState.inputs;
      expect(inputsOf("h1-facts").kernelRelease).toBe("04da6b54-80e4-46f7-96ec-b56ff0331ba9");
      expect(inputsOf("h1-kmod-pair-install-a").artifactId).toBe("04da6b54-80e4-46f7-96ec-b56ff0331ba9");
      expect(await footprint("h1")).toBe(before.h1);

      const up = example.up();
      timings.exampleUp = up.seconds;
      expect(up.output).toMatch(/h1-machine created[\s\S]*h1: installing kmod-pair for/);
      expect(up.output).toMatch(/build-kmod-pair-\S+ created[\s\S]*h1-kmod-pair-install-a created/);
      // The artifact is the demo's (same kernel, same sources): installed from the store, not built again.
      if (seeded) expect(up.output).not.toMatch(/h1: building kmod-pair/);
      else expect(up.output).toMatch(/h1: building kmod-pair/);
      const k = kernels.h1;
      expect(await sh("h1", `ls /usr/lib/modules/${k}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
      expect(await loaded("h1", set.load)).toEqual(set.load);
      expect(await sh("h1", "cat /sys/module/pair_consumer/parameters/greeting")).toBe("hello-from-the-example");
      const summary = JSON.parse(example.cli(["stack", "output", "hosts", "--json", "--show-secrets"]).stdout).h1;
      expect(summary.kernelRelease).toBe(k);
      expect([...summary.sets["kmod-pair"].modules].sort()).toEqual(["pair_consumer", "pair_provider"]);
      const exported = example.cli(["stack", "export"]).stdout;
      expect(exported).not.toContain(fs.readFileSync(testbed.keyPath(), "utf8").split("\n")[1]);
      expect(example.preview().changes).toEqual([]);

      const destroy = example.cli(["destroy", "--yes", "--skip-preview"]);
      timings.exampleDestroy = destroy.seconds;
      expect(await loaded("h1", set.load)).toEqual([]);
      expect(await footprint("h1")).toBe(before.h1);
    } finally {
      example.cli(["destroy", "--yes", "--skip-preview"], { allowFail: true });
      example.destroyState();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
