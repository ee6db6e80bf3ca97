// Tests of the test fleet itself: one boot of two hosts shared by the whole file, one
// reboot (the kernel update of h2). Needs root, QEMU and the packages in .ci/apt-packages;
// a missing prerequisite fails the suite with a message naming it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../dev/testbed/exec";
import { probeFacts } from "../../components/providers/hostFacts/hostFacts";
import { builtInProfiles } from "../../config/profiles";
import type { ConnectionSpec } from "../../host/ssh/session";
import { down, findHost, keyPath, knownHostsPath, readState, reboot, releaseModeFile, sshArgs, sshCapture, stackConfig, status, up, updateKernel, waitForNewBoot } from "../../dev/testbed/fleet";
import { spawnSync } from "node:child_process";
import { repoRoot } from "../../dev/toolchain/env";
import { missingPrerequisites } from "../../dev/testbed/images";
import { BOARD, GROUP, testKernels } from "../../dev/testbed/recipe";
import { IMAGE_NAME, writeMode } from "../../dev/testbed/releaseServer";
import { verifyDetached } from "../../dev/testbed/signingKey";
import { fleetSchema } from "../../config/schema";

const flatcar = builtInProfiles.flatcar;
const factsProbe = { ...flatcar, kernelConfigSources: ["/boot/config-${KERNEL}"] };
/** How kmod-fleet itself reaches a test host. */
function productSpec(name: string): ConnectionSpec {
  const h = findHost(name);
  return { host: name, address: "127.0.0.1", port: h.sshPort, user: "root", privateKey: fs.readFileSync(keyPath(), "utf8"), hostKeys: [h.hostKey], connectTimeoutSeconds: 20, connectAttempts: 3 };
}

const [installed, update] = testKernels();

describe("test fleet", () => {
  beforeAll(async () => {
    const missing = missingPrerequisites();
    if (missing.length) throw new Error(`the fleet tests need: ${missing.join("; ")} (install the packages in .ci/apt-packages)`);
    if (readState()) await down();
    await up({ hosts: 2 });
  });

  afterAll(async () => {
    await down();
  });

  it("boots two hosts on the installed kernel, dressed as Flatcar", async () => {
    const st = await status();
    expect(st.map((h) => h.name)).toEqual(["h1", "h2"]);
    for (const h of st) {
      expect(h.state).toBe("up");
      expect(h.kernelRelease).toBe(installed.release);
      expect(h.osVersion).toBe(installed.osVersion);
      expect(h.pendingKernel).toBeNull();
      expect(h.hostKey).toMatch(/^ssh-ed25519 /);
      // The booted release's modules only (the other release is on the passive /usr).
      expect((await sshCapture(findHost(h.name), "ls /usr/lib/modules")).stdout.trim()).toBe(installed.release);
    }
    expect(st[0].bootId).not.toBe(st[1].bootId);
    const r = await sshCapture(findHost("h1"), ". /usr/share/flatcar/release; . /usr/share/flatcar/update.conf; . /etc/os-release; echo $FLATCAR_RELEASE_BOARD $GROUP $ID $(hostname)");
    expect(r.stdout.trim()).toBe(`${BOARD} ${GROUP} flatcar h1`);
  });

  it("accepts the pinned host key and refuses a wrong one", async () => {
    const h1 = findHost("h1");
    const h2 = findHost("h2");
    const ok = await sshCapture(h1, "true");
    expect(ok.code, ok.stderr).toBe(0);
    // A known_hosts that pins h2's key for h1's address.
    const wrong = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "testbed-kh-")), "known_hosts");
    fs.writeFileSync(wrong, `[127.0.0.1]:${h1.sshPort} ${h2.hostKey}\n`);
    const args = sshArgs(h1).map((a) => (a === `UserKnownHostsFile=${knownHostsPath()}` ? `UserKnownHostsFile=${wrong}` : a));
    const bad = await run("ssh", [...args, "true"], { timeoutMs: 60_000 });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it("has a read-only /usr/lib/modules and writable /etc, /opt, /var", async () => {
    const r = await sshCapture(findHost("h1"), "touch /usr/lib/modules/x 2>&1; findmnt -n -o OPTIONS --target /usr/lib/modules; for d in /etc /opt /var; do touch $d/.w && rm $d/.w && echo $d writable; done");
    expect(r.stdout).toMatch(/Read-only file system/);
    expect(r.stdout.split("\n")[1]).toMatch(/(^|,)ro(,|$)/);
    expect(r.stdout).toContain("/etc writable");
    expect(r.stdout).toContain("/opt writable");
    expect(r.stdout).toContain("/var writable");
  });

  it("serves a developer container that verifies with the test key, and a corrupted one that does not", async () => {
    const state = readState()!;
    const cfg = (await stackConfig()) as { profile: { signingKey: string } };
    const url = `http://127.0.0.1:${state.releaseServer.port}/${GROUP}/${BOARD}/${installed.osVersion}/${IMAGE_NAME}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "testbed-rel-"));
    const fetchTo = async (u: string, f: string) => {
      const res = await fetch(u);
      expect(res.status).toBe(200);
      fs.writeFileSync(f, Buffer.from(await res.arrayBuffer()));
    };
    try {
      await fetchTo(url, path.join(dir, "img"));
      await fetchTo(`${url}.sig`, path.join(dir, "sig"));
      const good = await verifyDetached(cfg.profile.signingKey, path.join(dir, "img"), path.join(dir, "sig"));
      expect(good.ok, good.output).toBe(true);

      writeMode(releaseModeFile(), "corrupt-image", installed.osVersion);
      await fetchTo(url, path.join(dir, "img-bad"));
      const corrupt = await verifyDetached(cfg.profile.signingKey, path.join(dir, "img-bad"), path.join(dir, "sig"));
      expect(corrupt.ok).toBe(false);
      expect(corrupt.output).toMatch(/BAD signature/);

      writeMode(releaseModeFile(), "bad-signature");
      await fetchTo(`${url}.sig`, path.join(dir, "sig-bad"));
      const badSig = await verifyDetached(cfg.profile.signingKey, path.join(dir, "img"), path.join(dir, "sig-bad"));
      expect(badSig.ok).toBe(false);
    } finally {
      writeMode(releaseModeFile(), "ok");
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Guests reach the server through user-mode networking.
    const g = await sshCapture(findHost("h1"), `curl -fsS -o /dev/null -w '%{http_code}' http://10.0.2.2:${state.releaseServer.port}/${GROUP}/${BOARD}/${installed.osVersion}/${IMAGE_NAME}.sig`);
    expect(g.stdout).toBe("200");
  });

  it("stages a kernel update on h2 and boots it on reboot (new uname -r, OS version and boot id)", async () => {
    const before = (await status()).find((h) => h.name === "h2")!;
    const staged = await updateKernel("h2");
    expect(staged.to).toBe(update.release);
    const pending = (await status()).find((h) => h.name === "h2")!;
    expect(pending.pendingKernel).toBe(update.release);
    expect(pending.kernelRelease).toBe(installed.release);
    const ue = await sshCapture(findHost("h2"), "update_engine_client -status");
    expect(ue.stdout).toContain("CURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT");
    expect(ue.stdout).toContain(`NEW_VERSION=${update.osVersion}`);
    // Only the fields Flatcar's update_engine_client prints: no kernel release among them.
    expect(ue.stdout.trim().split("\n").map((l) => l.split("=")[0])).toEqual(["LAST_CHECKED_TIME", "PROGRESS", "CURRENT_OP", "NEW_VERSION", "NEW_SIZE"]);
    // As on Flatcar, the staged release is on the passive /usr: its modules are not visible yet.
    expect((await sshCapture(findHost("h2"), "ls /usr/lib/modules")).stdout.trim()).toBe(installed.release);
    // Its kernel is in the ESP's other slot, where kmod-fleet's facts read its release.
    expect(await probeFacts(productSpec("h2"), factsProbe)).toMatchObject({ kernelRelease: installed.release, bootSlot: "a", stagedOsVersion: update.osVersion, stagedKernelRelease: update.release, stagedSlot: "b" });

    // The newest kernel is staged already.
    await expect(updateKernel("h2")).rejects.toThrow(/newest test kernel/);

    await reboot("h2");
    const after = (await status()).find((h) => h.name === "h2")!;
    expect(after.kernelRelease).toBe(update.release);
    expect(after.osVersion).toBe(update.osVersion);
    expect(after.bootId).not.toBe(before.bootId);
    expect(after.pendingKernel).toBeNull();
    expect(after.sshPort).toBe(before.sshPort);
    const ue2 = await sshCapture(findHost("h2"), "update_engine_client -status");
    expect(ue2.stdout).toContain("UPDATE_STATUS_IDLE");
    expect(await probeFacts(productSpec("h2"), factsProbe)).toMatchObject({ kernelRelease: update.release, bootSlot: "b", stagedOsVersion: "", stagedKernelRelease: "" });
    // The reboot switched /usr: the new release's modules, and only those, are there.
    expect((await sshCapture(findHost("h2"), "ls /usr/lib/modules; test -s /usr/lib/modules/$(uname -r)/modules.dep && echo deps-ok")).stdout.trim()).toBe(`${update.release}\ndeps-ok`);
    // h1 was left alone.
    const h1 = (await status()).find((h) => h.name === "h1")!;
    expect(h1.kernelRelease).toBe(installed.release);
  });

  it("a release published on the channel reaches h1 through its update_engine; its reboot manager reboots it only inside the window of update.conf; a rollback boots the other partition's release", async () => {
    // The commands as a user (or a test outside the project) types them.
    const testbed = (...args: string[]) => {
      const r = spawnSync("npx", ["tsx", "dev/testbed/cli.ts", ...args], { cwd: repoRoot, encoding: "utf8", timeout: 600_000 });
      expect(r.status, `testbed ${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout.trim();
    };
    const h1 = findHost("h1");
    const guest = async (command: string) => (await sshCapture(h1, command)).stdout.trim();
    const state = async () => (await status()).find((h) => h.name === "h1")!;
    const rebootSettings = (start: string) => guest(`sed -i '/^REBOOT_STRATEGY=/d; /^LOCKSMITHD_REBOOT_WINDOW_/d' /etc/flatcar/update.conf && printf 'REBOOT_STRATEGY=reboot\\nLOCKSMITHD_REBOOT_WINDOW_START=%s\\nLOCKSMITHD_REBOOT_WINDOW_LENGTH=1h\\n' "$(date -d '${start}' +%H:%M)" >>/etc/flatcar/update.conf && systemctl restart locksmithd`);
    expect(testbed("release", "current")).toBe(installed.osVersion);
    expect(JSON.parse(testbed("update", "h1"))).toMatchObject({ staged: false, version: installed.osVersion });
    // The fleet's own update.conf says REBOOT_STRATEGY=off: its reboot manager stopped, as Flatcar's does.
    expect(await guest("systemctl is-active locksmithd; journalctl -u locksmithd --no-pager -o cat")).toMatch(/^inactive\n[\s\S]*REBOOT_STRATEGY=off: shutting down/);
    expect(JSON.parse(testbed("release", "publish"))).toMatchObject({ version: update.osVersion, kernelRelease: update.release });
    expect(testbed("release", "current")).toBe(update.osVersion);

    // A window that opens in three hours: the release is staged and h1 waits.
    await rebootSettings("+3 hours");
    const before = await state();
    expect(JSON.parse(testbed("update", "h1"))).toMatchObject({ staged: true, version: update.osVersion, kernelRelease: update.release });
    expect(await guest("update_engine_client -status")).toContain("CURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT");
    await new Promise((r) => setTimeout(r, 15_000));
    expect((await state()).bootId).toBe(before.bootId);
    expect(await guest("journalctl -u locksmithd --no-pager -o cat")).toContain(`update ${update.osVersion} is staged; waiting for the reboot window`);

    // The window opened ten minutes ago: h1's reboot manager reboots it, nobody else does.
    const t0 = Date.now();
    await rebootSettings("-10 minutes");
    await waitForNewBoot("h1", before.bootId!, 300);
    console.log(`h1 rebooted by its reboot manager ${((Date.now() - t0) / 1000).toFixed(0)} s after its window opened`);
    expect(await state()).toMatchObject({ kernelRelease: update.release, osVersion: update.osVersion, pendingKernel: null });
    expect(await guest("update_engine_client -status")).toContain("UPDATE_STATUS_IDLE");

    // Flatcar's manual rollback: the release on the other partition boots again.
    expect(JSON.parse(testbed("rollback", "h1"))).toMatchObject({ from: update.release, to: installed.release });
    expect(await state()).toMatchObject({ kernelRelease: installed.release, osVersion: installed.osVersion });
    expect(await guest("ls /usr/lib/modules")).toBe(installed.release);
  });

  it("prints a stack config with the fleet's hosts, pinned keys and the release server", async () => {
    const cfg = (await stackConfig()) as { defaults: { auth: { keyFile: string } }; hosts: { name: string; port: number; hostKey: string }[]; profile: { devContainerUrl: string } };
    expect(cfg.defaults.auth.keyFile).toBe(keyPath());
    expect(cfg.hosts.map((h) => h.name)).toEqual(["h1", "h2"]);
    expect(cfg.hosts[0].hostKey).toBe(findHost("h1").hostKey);
    expect(cfg.profile.devContainerUrl).toMatch(/^http:\/\/10\.0\.2\.2:\d+\/\$\{GROUP\}\/\$\{BOARD\}\/\$\{VERSION\}\/flatcar_developer_container\.bin\.bz2$/);
    expect(fleetSchema.safeParse(cfg).success).toBe(true);
  });
});
