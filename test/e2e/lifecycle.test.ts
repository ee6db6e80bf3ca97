// The whole lifecycle with the real Pulumi engine on the QEMU test fleet (3 hosts), starting
// with `npm run demo -- --hosts 3` itself and ending with a user's own program that uses the
// packed package (examples/fleet-from-machines). Scenarios run in order and share the fleet
// and the demo's stack; every check looks at the hosts over SSH, or at the local artifact
// store. Builds are shared: one per kernel and module set, on the first host by name that
// runs that kernel; every other host of the kernel installs the artifact. The last scenario
// needs only a fresh fleet: `-t "a user's program"` runs it alone.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
import { Watcher } from "./watcher";
import { measureSpan, type SpanLoad } from "./machineLoad";

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
const timings: Record<string, number> = {};
// Per scenario (its name up to the first colon): seconds, and how busy the machine's CPUs were.
const load: Record<string, SpanLoad> = {};
const endLifecycle = measureSpan();
let endScenario: () => SpanLoad;

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

/** Runs `npm run testbed -- <args>` as a user would; its output, or the test fails with it. */
function testbedCli(args: string[]): string {
  const r = spawnSync("npm", ["run", "-s", "testbed", "--", ...args], { cwd: repoRoot, encoding: "utf8", timeout: 900_000 });
  if (r.status !== 0) throw new Error(`npm run testbed -- ${args.join(" ")} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The JSON a testbed command prints (npm may print lines of its own before it). */
function testbedJson(args: string[]): any {
  const out = testbedCli(args);
  return JSON.parse(out.slice(out.indexOf("{")));
}

/** Polls until `ok()`; fails naming what it waited for. */
async function waitFor(what: string, ok: () => boolean, timeoutSeconds: number): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, 3000));
  }
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

beforeEach(() => {
  endScenario = measureSpan();
});

afterEach((ctx) => {
  load[ctx.task.name.split(":")[0]] = endScenario();
});

afterAll(async () => {
  load.whole = endLifecycle();
  console.log(`e2e phase timings (s): ${JSON.stringify(timings)}`);
  console.log(`e2e scenarios, seconds and busy CPU (%): ${JSON.stringify(load)}`);
  fs.mkdirSync(path.join(repoRoot, ".cache", "e2e"), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, ".cache", "e2e", "timings.json"), JSON.stringify(timings, null, 2) + "\n");
  fs.writeFileSync(path.join(repoRoot, ".cache", "e2e", "load.json"), JSON.stringify(load, null, 2) + "\n");
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

  // Flatcar's automatic updates with nobody at the keyboard. `kmod-fleet watch` runs the
  // demo's stack in the background; the test only does what the release server, the hosts'
  // update engines and an operator's manual rollback would do, with the testbed's commands.
  // No pulumi command is typed from the watcher's start to its stop.
  it("unattended updates: the watcher builds a published release before any host stages it; h2 (reboot) and h3 (a window) reboot into it only once their modules are installed and boot with them loaded; a set that cannot build holds h3 until maxRebootHold, then proceeds; h2's rollback boots the previous release with its modules", async () => {
    const old = kernels.h1;
    const all = testbed.requireState().kernels;
    const next = all[all.findIndex((t) => t.release === old) + 1];
    expect(next, `the test fleet has no release after ${old}`).toBeTruthy();
    const k = next.release;
    const figures: Record<string, number> = {};
    /** Boots of a kernel without the sets that were ready for it: must stay empty. */
    const bootsWithoutModules: string[] = [];
    const bootsOf: Record<string, number> = {};
    const bootedWith = async (h: string, kernel: string) => {
      expect(await sh(h, "uname -r")).toBe(kernel);
      const have = await loaded(h, PAIR);
      if (have.length !== PAIR.length) bootsWithoutModules.push(`${h} on ${kernel}: ${have.join(" ") || "none"} of ${PAIR.join(" ")}`);
      // From the boot's first journal line to pair_consumer's load by systemd-modules-load.
      const firstTime = async (filter: string) => Number(await sh(h, `journalctl -b --no-pager -o short-unix ${filter} | grep -m 1 '^[0-9]' | cut -d' ' -f1`));
      const loadedAt = await firstTime(`-u systemd-modules-load --grep "Inserted module 'pair_consumer'"`);
      bootsOf[h] = (bootsOf[h] ?? 0) + 1;
      figures[`bootToLoaded_${h}_${bootsOf[h]}`] = Math.round(loadedAt - (await firstTime("")));
    };
    const bootId = (h: string) => sh(h, "cat /proc/sys/kernel/random/boot_id");
    const manifestFor = (kernel: string, set = "kmod-pair") => storedManifests().find((m) => m.kernelRelease === kernel && m.set === set);

    // flaky builds for the running kernel and not for the published one; it is h3's alone.
    fs.rmSync(FLAKY_DIR, { recursive: true, force: true });
    fs.mkdirSync(FLAKY_DIR, { recursive: true });
    fs.writeFileSync(path.join(FLAKY_DIR, "Kbuild"), `ifeq ($(KERNELRELEASE),${k})\n$(error flaky does not build for $(KERNELRELEASE): the e2e test's failing set)\nendif\nobj-m += flaky.o\n`);
    fs.writeFileSync(path.join(FLAKY_DIR, "flaky.c"), '#include <linux/module.h>\nstatic int __init flaky_init(void) { return 0; }\nstatic void __exit flaky_exit(void) {}\nmodule_init(flaky_init);\nmodule_exit(flaky_exit);\nMODULE_LICENSE("GPL");\n');
    // The users' own reboot settings, written as a whole new update.conf (the gate keeps it
    // as theirs): h2 reboots as soon as it may, h3 only in its window (open now, for 2 h).
    // A persistent journal, to read the gate's and locksmithd's lines of the boot before.
    const windowStart = new Date(Date.now() - 10 * 60_000).toISOString().slice(11, 16);
    for (const [h, extra] of [["h2", []], ["h3", [`LOCKSMITHD_REBOOT_WINDOW_START=${windowStart}`, "LOCKSMITHD_REBOOT_WINDOW_LENGTH=2h"]]] as const) {
      const kept = (await sh(h, "cat /var/lib/kmod-fleet/reboot-gate/update.conf.user")).split("\n").filter((l) => !/^(REBOOT_STRATEGY|LOCKSMITHD_REBOOT_WINDOW_)/.test(l));
      const conf = Buffer.from([...kept, "REBOOT_STRATEGY=reboot", ...extra].join("\n") + "\n").toString("base64");
      await sh(h, `echo ${conf} | base64 -d > /etc/flatcar/update.conf.new && mv /etc/flatcar/update.conf.new /etc/flatcar/update.conf`);
      await sh(h, "mkdir -p /var/log/journal && systemd-tmpfiles --create --prefix /var/log/journal && journalctl --flush");
    }
    stack.setFleet({ ...demoFleetConfig(baseFleet, [demoModuleSet(), { name: "flaky", source: { dir: ".cache/e2e/flaky" }, load: ["flaky"], hosts: { names: ["h3"] } }]), updates: { buildAhead: true, maxRebootHold: "2m" } });

    const watcher = new Watcher(stack, ["--interval", "15"]);
    let watcherExit: number | null = null;
    try {
      // The watcher converges the new config (flaky on h3), then has nothing to do.
      await watcher.until("a quiet round after converging", (l) => l.hosts && l.action === "none" && l.outcome === "ok", 1500);
      expect(watcher.rounds()[0]).toMatchObject({ action: "up", outcome: "ok" });
      expect(await loaded("h3", ["flaky"])).toEqual(["flaky"]);

      // Published: built once, on h1 (the first host by name on the channel), from the release's developer container, before any host stages it.
      const publishedAt = Date.now();
      expect(testbedJson(["release", "publish"])).toMatchObject({ kernelRelease: k });
      await waitFor(`kmod-pair for ${k} in the store`, () => !!manifestFor(k), 1500);
      figures.publishedToBuilt = Math.round((Date.now() - publishedAt) / 1000);
      for (const h of HOSTS) expect(await sh(h, "update_engine_client -status | grep ^CURRENT_OP=")).toBe("CURRENT_OP=UPDATE_STATUS_IDLE");
      expect(manifestFor(k).builtOn).toBe("h1");
      const aheadLog = await buildLogMtime("h1", k);
      expect(aheadLog).not.toBe("none");
      for (const h of ["h2", "h3"]) expect(await buildLogMtime(h, k)).toBe("none");
      await watcher.until("a round after the build ahead", (l) => l.hosts && l.action === "up" && Date.parse(l.time) > publishedAt, 900);

      // h2 and h3 stage the release; their reboot managers reboot them when the gate lets them.
      const bootsBefore = { h2: await bootId("h2"), h3: await bootId("h3") };
      const stagedAt = Date.now();
      for (const h of ["h2", "h3"]) expect(testbedJson(["update", h])).toMatchObject({ staged: true, kernelRelease: k });
      const rebootedAt: Record<string, number> = {};
      await Promise.all(["h2", "h3"].map(async (h) => {
        await testbed.waitForNewBoot(h, bootsBefore[h as "h2" | "h3"], 1500);
        rebootedAt[h] = Date.now();
      }));
      for (const h of ["h2", "h3"]) {
        await bootedWith(h, k);
        // The gate's and the reboot manager's lines of the boot before: allowed once the
        // modules were installed (h2), or after maxRebootHold with flaky missing (h3); the
        // reboot came after that, from locksmithd.
        const gate = await sh(h, "journalctl -b -1 -u kmod-fleet-reboot-gate --no-pager -o short-unix");
        const allowed = gate.split("\n").find((l) => (h === "h2" ? /released: every module set is installed for/ : /policy proceed: the reboot is allowed, and flaky will be missing/).test(l));
        expect(allowed, `${h}'s gate journal:\n${gate}`).toBeTruthy();
        const allowedAt = Number(allowed!.split(" ")[0]);
        figures[`stagedToAllowed_${h}`] = Math.round(allowedAt - stagedAt / 1000);
        expect(Number(await sh(h, `stat -c %Y /usr/lib/modules/${k}/extra/kmod-pair/.kmod-fleet-artifact`))).toBeLessThanOrEqual(allowedAt);
        const rebooting = (await sh(h, "journalctl -b -1 -u locksmithd --no-pager -o short-unix")).split("\n").find((l) => /is staged; rebooting/.test(l));
        expect(Number(rebooting?.split(" ")[0])).toBeGreaterThanOrEqual(allowedAt);
        if (h === "h3") expect(gate).toMatch(/held since \S+: reboot into \S+ \(kernel \S+\) waits for flaky/);
      }
      // h2's modules are the build ahead's, with their parameter; depmod ran at that boot.
      expect(await sh("h2", "cat /sys/module/pair_consumer/srcversion")).toBe(manifestFor(k).modules.find((m: any) => m.name === "pair_consumer").srcversion);
      expect(await sh("h2", "cat /sys/module/pair_consumer/parameters/greeting")).toBe(DEMO_GREETING);
      expect(await sh("h2", `grep -c extra/kmod-pair/ /usr/lib/modules/${k}/modules.dep; ls -A /var/lib/kmod-fleet/depmod-at-boot 2>/dev/null; true`)).toBe("2");
      expect(await loaded("h3", ["flaky"])).toEqual([]);

      // The next rounds: nothing is built again, h3's flaky is reported as failing for the
      // release, and the previous release's modules stay on the other slot.
      const after = Math.max(...Object.values(rebootedAt));
      await watcher.until("h2 converged after its reboot", (l) => l.host === "h2" && l.outcome === "ok" && Date.parse(l.time) > after, 900);
      const h3Report = await watcher.until("h3's failure reported", (l) => l.host === "h3" && l.outcome === "failed" && Date.parse(l.time) > after, 900);
      expect(h3Report.message).toMatch(new RegExp(`flaky[\\s\\S]*${k.replaceAll(".", "\\.")}`));
      // The watcher's work is done: what follows is the hosts' own (their boot slots, update
      // engines and reboot gates). Stopped now, it does not spend the guests' CPU on h3's
      // failing set again while h2 reboots.
      watcherExit = await watcher.stop();
      expect(await buildLogMtime("h1", k)).toBe(aheadLog);
      expect(await buildLogMtime("h2", k)).toBe("none");
      for (const h of ["h2", "h3"]) expect(await sh(h, `ls /usr/lib/modules/${old}/extra/kmod-pair/`)).toMatch(/pair_consumer\.ko/);

      // An operator rolls h2 back: the other partition's release boots, with its modules.
      expect(testbedJson(["rollback", "h2"])).toMatchObject({ from: k, to: old });
      await bootedWith("h2", old);
      // And updates it again: its modules for the release are still there, the gate lets it go at once.
      const beforeAgain = await bootId("h2");
      const againAt = Date.now();
      expect(testbedJson(["update", "h2"])).toMatchObject({ staged: true, kernelRelease: k });
      await testbed.waitForNewBoot("h2", beforeAgain, 900);
      figures.stagedToRebooted_h2_again = Math.round((Date.now() - againAt) / 1000);
      await bootedWith("h2", k);
    } finally {
      // Stopped already, unless a check above failed first.
      watcherExit ??= await watcher.stop();
    }
    expect(watcherExit, watcher.stderr).toBe(0);
    expect(bootsWithoutModules).toEqual([]);
    kernels.h2 = kernels.h3 = k;
    console.log(`unattended update figures (s): ${JSON.stringify(figures)}; boots without their modules: ${bootsWithoutModules.length}`);
    Object.assign(timings, figures);

    // Back to the demo's config; the hosts' reboot settings stay the users'.
    stack.setFleet(demoFleetConfig(baseFleet));
    stack.up();
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
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
    // h1 built the published release ahead: that build is the fleet's (h2 has its group now)
    // and its leftovers on h1 go with it (destroy, below); nothing else of kmod-fleet is left.
    const withoutWorkDir = (f: string) => f.replace(/ kmod-fleet(?= )/, "");
    expect(withoutWorkDir(await footprint("h1"))).toBe(withoutWorkDir(before.h1));
    expect(await sh("h1", `find /var/lib/kmod-fleet -name '*${kernels.h1}*' | head -n 1`)).toBe("");
    expect(await sh("h1", "ls /var/lib/kmod-fleet/logs")).toBe(`kmod-pair-${kernels.h2}.log`);
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
