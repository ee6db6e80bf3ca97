// The whole lifecycle with the real Pulumi engine on the QEMU test fleet (2 hosts), starting
// with `npm run demo` itself. Scenarios run in order and share the fleet and the demo's
// stack; every check looks at the hosts over SSH.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { footprint, loaded, sh, Stack, testbed } from "./harness";
import { repoRoot } from "../../toolchain/env";
import { DEMO_GREETING, DEMO_MODULES as PAIR, demoFleetConfig, demoModuleSet } from "../../demo/config";

// The demo's own stack (repo backend .pulumi/), so the test runs exactly what a newcomer does.
const stack = new Stack("demo", path.join(repoRoot, ".pulumi"));
let baseFleet: Record<string, any>;
const before: Record<string, string> = {};
const kernels: Record<string, string> = {};
const timings: Record<string, number> = {};

function names(steps: { name: string }[]): string[] {
  return steps.map((s) => s.name).sort();
}

async function buildLogMtime(h: string, kernel: string): Promise<string> {
  return sh(h, `stat -c %Y /var/lib/kmod-fleet/logs/kmod-pair-${kernel}.log`);
}

beforeAll(async () => {
  // A fresh fleet: earlier tests or the demo may have left hosts on another kernel.
  if (testbed.readState()) await testbed.down();
  const state = await testbed.up({ hosts: 2 });
  expect(state.hosts.map((h) => h.name)).toEqual(["h1", "h2"]);
  baseFleet = await testbed.stackConfig();
  for (const h of ["h1", "h2"]) {
    before[h] = await footprint(h);
    kernels[h] = await sh(h, "uname -r");
  }
  // The stack the demo would write; the demo finds it and runs on it.
  stack.init(demoFleetConfig(baseFleet), fs.readFileSync(testbed.keyPath(), "utf8"));
}, 1_800_000);

afterAll(async () => {
  console.log(`e2e phase timings (s): ${JSON.stringify(timings)}`);
  fs.mkdirSync(path.join(repoRoot, ".cache", "e2e"), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, ".cache", "e2e", "timings.json"), JSON.stringify(timings, null, 2) + "\n");
  await testbed.down();
}, 120_000);

describe("kmod-fleet on the test fleet", () => {
  it("preview on a fresh fleet lists each host's resources and changes nothing", async () => {
    const { steps, result } = stack.preview();
    timings.previewFresh = result.seconds;
    for (const h of ["h1", "h2"]) {
      for (const r of ["facts", "overlay", "devcontainer", "kmod-pair-build", "kmod-pair-load"]) {
        expect(steps.find((s) => s.name === `${h}-${r}`)?.op, `${h}-${r}`).toBe("create");
      }
      expect(await footprint(h)).toBe(before[h]);
    }
  });

  it("npm run demo converges the fleet: built and loaded on both hosts", async () => {
    const started = Date.now();
    const r = spawnSync("npm", ["run", "demo"], { cwd: repoRoot, encoding: "utf8", timeout: 1_800_000, maxBuffer: 64 * 1024 * 1024 });
    timings.demo = (Date.now() - started) / 1000;
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, output.slice(-6000)).toBe(0);
    expect(output).toMatch(/h1: building kmod-pair for/);
    expect(output).toMatch(/h2:\n {2}kernel: \S+\n {2}overlay: overlay [^\n]*\n {2}built: pair_consumer.ko pair_provider.ko\n {2}loaded: pair_consumer pair_provider/);
    for (const h of ["h1", "h2"]) {
      const k = kernels[h];
      expect(await sh(h, "findmnt -n -o FSTYPE,OPTIONS /usr/lib/modules")).toMatch(/^overlay .*upperdir=\/opt\/modules/);
      expect(await sh(h, "systemctl is-enabled usr-lib-modules.mount")).toBe("enabled");
      expect(await sh(h, "ls /var/cache/kmod-fleet/*/")).toMatch(/developer_container.bin\s+verified/);
      expect(await sh(h, `ls /usr/lib/modules/${k}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
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
  });

  it("the SSH key stays a secret in state", () => {
    const exported = stack.cli(["stack", "export"]).stdout;
    const keyBody = fs.readFileSync(testbed.keyPath(), "utf8").split("\n")[1];
    expect(exported).not.toContain(keyBody);
    expect(exported).toContain("4dabf18193072939515e22adb298388d");
  });

  it("a second up changes nothing and builds nothing", async () => {
    const mtimes = [await buildLogMtime("h1", kernels.h1), await buildLogMtime("h2", kernels.h2)];
    const r = stack.up();
    timings.upNoop = r.seconds;
    expect(r.output).not.toMatch(/building kmod-pair/);
    expect(r.output).not.toMatch(/\d+ (created|updated|replaced|deleted)/);
    expect([await buildLogMtime("h1", kernels.h1), await buildLogMtime("h2", kernels.h2)]).toEqual(mtimes);
    const refresh = stack.preview(["--refresh"]);
    timings.previewRefreshNoop = refresh.result.seconds;
    expect(refresh.changes).toEqual([]);
  });

  it("a new modulesRoot moves the installed modules in place; after a reboot they come back by themselves", async () => {
    // The overlay's upper dir moves: the modules are copied before the boot config points at
    // the new folder, and the old folder goes last, so no boot ever finds them missing.
    const movedRoot = "/opt/kmod-modules";
    baseFleet = { ...baseFleet, storage: { ...((baseFleet.storage as object) ?? {}), modulesRoot: movedRoot } };
    stack.setFleet(demoFleetConfig(baseFleet));
    expect(stack.preview().changes.map((c) => `${c.name} ${c.op}`).sort()).toEqual(["h1-overlay update", "h2-overlay update"]);
    const r = stack.up();
    timings.upMoveModulesRoot = r.seconds;
    for (const h of ["h1", "h2"]) {
      expect(await sh(h, "findmnt -n -o OPTIONS /usr/lib/modules")).toContain(`upperdir=${movedRoot},workdir=${movedRoot}.wd`);
      expect(await sh(h, "grep '^Options=' /etc/systemd/system/usr-lib-modules.mount")).toContain(`upperdir=${movedRoot},`);
      expect(await sh(h, `ls ${movedRoot}/${kernels[h]}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
      expect(await sh(h, "ls -d /opt/modules /opt/modules.wd 2>/dev/null; true")).toBe("");
      expect(await loaded(h, PAIR)).toEqual(PAIR);
    }
    await testbed.reboot("h1");
    expect(await sh("h1", "stat -f -c %T /usr/lib/modules/")).toBe("overlayfs");
    expect(await sh("h1", `ls /usr/lib/modules/${kernels.h1}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
    expect(await loaded("h1", PAIR)).toEqual(PAIR);
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("drift on one host is seen for exactly the affected resources and repaired", async () => {
    await sh("h1", `rm /usr/lib/modules/${kernels.h1}/extra/kmod-pair/pair_consumer.ko && modprobe -r pair_consumer && umount /usr/lib/modules`);
    const h2Before = await buildLogMtime("h2", kernels.h2);
    const { changes } = stack.preview(["--refresh"]);
    expect(names(changes)).toEqual(["h1-kmod-pair-build", "h1-kmod-pair-load", "h1-overlay"]);
    const r = stack.up(["--refresh"]);
    timings.upRepair = r.seconds;
    expect(await sh("h1", "stat -f -c %T /usr/lib/modules/")).toBe("overlayfs");
    expect(await sh("h1", `ls /usr/lib/modules/${kernels.h1}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
    expect(await loaded("h1", PAIR)).toEqual(PAIR);
    expect(await buildLogMtime("h2", kernels.h2)).toBe(h2Before);
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("a failed rebuild and a refused reload leave the working modules installed, loaded and listed", async () => {
    // Two edits of the demo's source: one that does not compile, one whose pair_consumer
    // the kernel refuses at load (its init fails). Neither may cost the hosts what works.
    const fixture = path.join(repoRoot, "testbed", "fixtures", "kmod-pair");
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
    const state = async (h: string) =>
      [
        await sh(h, `sha256sum /usr/lib/modules/${kernels[h]}/extra/kmod-pair/*.ko`),
        await sh(h, "cat /sys/module/pair_consumer/srcversion /sys/module/pair_provider/srcversion"),
        await sh(h, "grep -v '^#' /etc/modules-load.d/kmod-fleet-kmod-pair.conf"),
      ].join("\n");
    for (const h of ["h1", "h2"]) working[h] = await state(h);

    // A source that does not compile: an update of the build (never a delete first) that fails.
    stack.setFleet(withSource(variant("broken", (c) => `${c}\n#error kmod-fleet e2e: this source does not compile\n`)));
    const builds = stack.preview().changes.filter((c) => c.name.endsWith("-build"));
    expect(builds.map((c) => `${c.name} ${c.op}`).sort()).toEqual(["h1-kmod-pair-build update", "h2-kmod-pair-build update"]);
    // --continue-on-error: without it Pulumi starts no new step after the first host fails,
    // and the other host's load would never run (see "Limits").
    let r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upFailedRebuild = r.seconds;
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/build of kmod-pair for \S+ failed; the end of the log:[\s\S]*this source does not compile[\s\S]*full log on the host: \/var\/lib\/kmod-fleet\/logs\//);
    for (const h of ["h1", "h2"]) expect(await state(h), h).toBe(working[h]);

    // A source that builds but that the kernel refuses: the previous build is put back and loaded.
    stack.setFleet(withSource(variant("refused", (c) => c.replace("return 0;", "return -EINVAL;"))));
    r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upRefusedReload = r.seconds;
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/modprobe pair_consumer failed[\s\S]*the previous build of kmod-pair is back in \/usr\/lib\/modules\//);
    for (const h of ["h1", "h2"]) expect(await state(h), h).toBe(working[h]);
    fs.rmSync(scratch, { recursive: true, force: true });

    // The demo's source again: one up converges, and nothing is left to do.
    stack.setFleet(demoFleetConfig(baseFleet));
    r = stack.up(["--refresh"]);
    timings.upBackToWorkingSource = r.seconds;
    for (const h of ["h1", "h2"]) expect(await loaded(h, PAIR)).toEqual(PAIR);
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("after a kernel auto-update on h2, preview shows a rebuild on h2 only and up rebuilds there", async () => {
    const h1Log = await buildLogMtime("h1", kernels.h1);
    const update = await testbed.updateKernel("h2", { reboot: true });
    expect(update.to).not.toBe(kernels.h2);
    kernels.h2 = await sh("h2", "uname -r");
    expect(kernels.h2).toBe(update.to);
    const { changes } = stack.preview();
    expect(changes.every((c) => c.name.startsWith("h2-")), JSON.stringify(changes)).toBe(true);
    expect(changes.find((c) => c.name === "h2-kmod-pair-build")?.op).toMatch(/replace/);
    const r = stack.up();
    timings.upAfterKernelUpdate = r.seconds;
    expect(await sh("h2", `ls /usr/lib/modules/${kernels.h2}/extra/kmod-pair/`)).toBe("pair_consumer.ko\npair_provider.ko");
    expect(await sh("h2", "modinfo -F vermagic pair_consumer")).toMatch(new RegExp(`^${kernels.h2} `));
    expect(await loaded("h2", PAIR)).toEqual(PAIR);
    expect(await buildLogMtime("h1", kernels.h1)).toBe(h1Log);
  });

  it("an in-tree set is built from its options alone; a dead end is refused before building", async () => {
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
    expect(names(changes)).toEqual(["h1-i915-build", "h1-i915-load", "h1-snd-build", "h1-snd-load"]);
    const r = stack.up(["--continue-on-error"], { allowFail: true });
    timings.upInTree = r.seconds;
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/h1: snd: setting SND_DUMMY=m SOUND=m SND=m SND_DRIVERS=y; building in sound/);
    const k = kernels.h1;
    const built = (await sh("h1", `ls /usr/lib/modules/${k}/extra/snd/`)).split("\n").sort();
    expect(built).toEqual(expect.arrayContaining(["snd-dummy.ko", "snd-pcm.ko", "snd-timer.ko", "snd.ko", "soundcore.ko"]));
    expect(await sh("h1", `modinfo -F vermagic /usr/lib/modules/${k}/extra/snd/snd-dummy.ko`)).toMatch(new RegExp(`^${k} `));
    // modprobe loaded what snd_dummy needs, from this set's folder, in depmod's order.
    expect(await sh("h1", "modprobe --show-depends snd_dummy")).toMatch(new RegExp(`extra/snd/snd\\.ko[\\s\\S]*extra/snd/snd-pcm\\.ko[\\s\\S]*extra/snd/snd-dummy\\.ko`));
    expect(await loaded("h1", ["snd_dummy", "snd_pcm", "snd_timer", "snd"])).toEqual(["snd_dummy", "snd_pcm", "snd_timer", "snd"]);
    expect(await sh("h1", "ls /sys/module/snd_pcm/holders")).toContain("snd_dummy");
    expect(await sh("h1", "grep -v '^#' /etc/modules-load.d/kmod-fleet-snd.conf")).toBe("snd_dummy");
    // The dead end: named with its cause, and nothing of i915 was compiled or installed.
    expect(r.output).toMatch(/h1[\s\S]*dead end[\s\S]*HDMI/i);
    expect(r.output).toMatch(/SYNC_FILE/);
    expect(await sh("h1", `ls -A /usr/lib/modules/${k}/extra/`)).toBe("kmod-pair\nsnd");
    expect(await sh("h1", "find /var/lib/kmod-fleet -name 'i915*.o' | head -n 1")).toBe("");
    expect(await loaded("h2", ["snd_dummy"])).toEqual([]);
  });

  it("a bad signature fails that host with a clear error and leaves nothing; the other host converges", async () => {
    // Back to the demo's set, and h1 out of the stack alone (a targeted destroy), so that it
    // must fetch its image again; the release server now signs that image wrongly. h2 has
    // drift to repair.
    stack.setFleet(demoFleetConfig(baseFleet));
    const h1 = stack.urnsOf(/^h1(-|$)/).flatMap((urn) => ["--target", urn]);
    stack.cli(["destroy", "--yes", "--skip-preview", ...h1, "--target-dependents"]);
    expect(await footprint("h1")).toBe(before.h1);
    expect(await loaded("h2", PAIR)).toEqual(PAIR);
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
      expect(await loaded("h2", PAIR)).toEqual(PAIR);
    } finally {
      testbed.setReleaseMode("ok", version);
    }
    // With the release server fixed, the next up retries exactly what failed on h1: its image
    // and the set that needs it (that up is the demo's first up again, proven above).
    expect(names(stack.preview().changes)).toEqual(["h1-devcontainer", "h1-kmod-pair-build", "h1-kmod-pair-load"]);
  });

  it("destroy puts the hosts back as they were", async () => {
    const r = stack.cli(["destroy", "--yes", "--skip-preview"]);
    timings.destroy = r.seconds;
    for (const h of ["h1", "h2"]) {
      expect(await loaded(h, PAIR)).toEqual([]);
      expect(await footprint(h)).toBe(before[h]);
    }
  });
});
