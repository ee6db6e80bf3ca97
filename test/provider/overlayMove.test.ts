// A new storage.modulesRoot or persistence moves the overlay in place, over real SSH and
// real overlayfs mounts in a private mount namespace (systemctl stubbed: `start` mounts
// what the unit file says): the installed modules are in the new folder before the boot
// config points at it, the old folder goes only after the new mount works, and a move
// that cannot work leaves the old overlay as it was.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as fs from "fs";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { diffOverlay, modulesOverlayProvider, type ModulesOverlayInputs, type ModulesOverlayOutputs } from "../../components/providers/modulesOverlay/modulesOverlay";
import { startSshd, type TestSshd } from "./sshd";
import { overlayInputs } from "./overlayInputs";

const SYSTEMCTL = `case "$1" in
start) f=/etc/systemd/system/$2; [ -f "$f" ] || exit 5
  mount -t overlay overlay -o "$(sed -n 's/^Options=//p' "$f")" "$(sed -n 's/^Where=//p' "$f")" ;;
is-enabled) [ -f "/etc/systemd/system/$3" ] ;;
*) exit 0 ;;
esac`;

let sshd: TestSshd;
let spec: ConnectionSpec;
let root: string;
let unitFile: string;
const MODULE = "6.1.0-test/extra/demo/demo.ko";
// A folder on another filesystem (the namespace's tmpfs): overlayfs refuses a work dir there.
const OTHER_FS = "/etc/systemd/system/elsewhere";

beforeAll(async () => {
  sshd = await startSshd({ namespace: { stubs: { systemctl: SYSTEMCTL }, tmpfs: ["/etc/systemd/system"], privateFiles: ["/etc/fstab"] } });
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  root = `${sshd.dir}/root`;
  unitFile = `/etc/systemd/system/${(await on(`systemd-escape --path --suffix=mount ${root}/lib/modules`)).trim()}`;
});
afterAll(async () => {
  await on(`umount ${root}/lib/modules 2>/dev/null; true`).catch(() => undefined);
  closeAllSessions();
  await sshd?.stop();
});
beforeEach(async () => {
  await on(`while umount ${root}/lib/modules 2>/dev/null; do :; done; rm -rf ${root} /etc/systemd/system/* && echo '/dev/vdb1 /srv ext4 defaults 0 0' > /etc/fstab`);
  fs.mkdirSync(`${root}/lib/modules/6.1.0-test/kernel`, { recursive: true });
});

async function on(cmd: string): Promise<string> {
  return (await runScript(spec, cmd, { timeoutSeconds: 10 })).stdout;
}
const inputs = (over: Partial<ModulesOverlayInputs> = {}): ModulesOverlayInputs => overlayInputs(spec, root, { persistence: "fstab", ...over });

/** An overlay kmod-fleet created, with a module installed through it. */
async function installed(over: Partial<ModulesOverlayInputs> = {}): Promise<ModulesOverlayOutputs> {
  const { outs } = await modulesOverlayProvider.create(inputs(over));
  await on(`mkdir -p ${root}/lib/modules/6.1.0-test/extra/demo && echo module > ${root}/lib/modules/${MODULE}`);
  return outs as ModulesOverlayOutputs;
}
const mountedUpper = () => on(`findmnt -n -M ${root}/lib/modules -o OPTIONS | grep -o 'upperdir=[^,]*'`).then((s) => s.trim());

describe("moving the overlay to a new layout", () => {
  it("a new modulesRoot is a move in place: the modules are in the new folder and visible; the old folder is gone", async () => {
    const olds = await installed();
    const news = inputs({ upperDir: `${root}/var/kmod`, workDir: `${root}/var/kmod.wd` });
    expect(diffOverlay(olds, news)).toEqual({ changes: true });
    const { outs } = await modulesOverlayProvider.update!("id", olds, news);
    expect(await mountedUpper()).toBe(`upperdir=${root}/var/kmod`);
    expect(await on(`cat ${root}/lib/modules/${MODULE}`)).toBe("module\n");
    expect(fs.readFileSync(`${root}/var/kmod/${MODULE}`, "utf8")).toBe("module\n");
    expect(fs.existsSync(`${root}/opt/modules`)).toBe(false);
    // The boot config names only the new layout, and the operator's own line stays.
    expect(await on("cat /etc/fstab")).toBe(`/dev/vdb1 /srv ext4 defaults 0 0\noverlay ${root}/lib/modules overlay lowerdir=${root}/lib/modules,upperdir=${root}/var/kmod,workdir=${root}/var/kmod.wd,nofail 0 0\n`);
    expect(outs.createdDirs.sort()).toEqual([`${root}/var/kmod`, `${root}/var/kmod.wd`]);
    // The moved overlay is a normal one: delete removes what the move made.
    await modulesOverlayProvider.delete!("id", outs);
    expect(fs.existsSync(`${root}/var/kmod`)).toBe(false);
    expect(await on("cat /etc/fstab")).toBe("/dev/vdb1 /srv ext4 defaults 0 0\n");
  });

  it("with a mount unit (the default), a new modulesRoot: the unit names the new folders, the mount shows the modules", async () => {
    const olds = await installed({ persistence: "mount-unit" });
    const { outs } = await modulesOverlayProvider.update!("id", olds, inputs({ persistence: "mount-unit", upperDir: `${root}/var/kmod`, workDir: `${root}/var/kmod.wd` }));
    expect(await on(`grep '^Options=' '${unitFile}'`)).toBe(`Options=lowerdir=${root}/lib/modules,upperdir=${root}/var/kmod,workdir=${root}/var/kmod.wd\n`);
    expect(await mountedUpper()).toBe(`upperdir=${root}/var/kmod`);
    expect(await on(`cat ${root}/lib/modules/${MODULE}`)).toBe("module\n");
    expect(fs.existsSync(`${root}/opt/modules`)).toBe(false);
    expect(outs.owned).toEqual(expect.arrayContaining(["unit", "mount", "dropin"]));
  });

  it("fstab to mount unit: the unit is written before the fstab line goes, and mounts the same modules", async () => {
    const olds = await installed();
    const { outs } = await modulesOverlayProvider.update!("id", olds, inputs({ persistence: "mount-unit" }));
    expect(await on(`head -n 1 '${unitFile}'`)).toMatch(/^# Written by kmod-fleet/);
    expect(await on("cat /etc/fstab")).toBe("/dev/vdb1 /srv ext4 defaults 0 0\n");
    expect(await on(`cat ${root}/lib/modules/${MODULE}`)).toBe("module\n");
    expect(outs.owned).toContain("unit");
    expect(outs.owned).not.toContain("fstab");
    // Folders are unchanged by a persistence move: still the ones create made.
    expect(outs.createdDirs).toEqual(olds.createdDirs);
  });

  it("a folder that is not kmod-fleet's own is left in place after the move", async () => {
    fs.mkdirSync(`${root}/opt/modules`, { recursive: true });
    const olds = await installed();
    await modulesOverlayProvider.update!("id", olds, inputs({ upperDir: `${root}/var/kmod` , workDir: `${root}/var/kmod.wd` }));
    expect(fs.existsSync(`${root}/opt/modules/${MODULE}`)).toBe(true);
    expect(fs.existsSync(`${root}/opt/modules.wd`)).toBe(false);
  });

  it("into a folder that already holds something: refused before anything changes", async () => {
    const olds = await installed();
    fs.mkdirSync(`${root}/var/kmod`, { recursive: true });
    fs.writeFileSync(`${root}/var/kmod/someone-elses`, "x");
    const fstab = await on("cat /etc/fstab");
    await expect(modulesOverlayProvider.update!("id", olds, inputs({ upperDir: `${root}/var/kmod` }))).rejects.toThrow(/refusing to move the modules into \S+\/var\/kmod: it exists and is not empty/);
    expect(await on("cat /etc/fstab")).toBe(fstab);
    expect(await mountedUpper()).toBe(`upperdir=${root}/opt/modules`);
    expect(fs.readdirSync(`${root}/var/kmod`)).toEqual(["someone-elses"]);
  });

  it("into a folder inside the current one: refused", async () => {
    const olds = await installed();
    await expect(modulesOverlayProvider.update!("id", olds, inputs({ upperDir: `${root}/opt/modules/new` }))).rejects.toThrow(/inside \S+\/opt\/modules, a folder of the current overlay/);
    expect(await on(`cat ${root}/lib/modules/${MODULE}`)).toBe("module\n");
  });

  it("a new layout that does not mount: the old overlay is put back, mounted and persisted, with its modules", async () => {
    const olds = await installed();
    const fstab = await on("cat /etc/fstab");
    await expect(modulesOverlayProvider.update!("id", olds, inputs({ upperDir: `${root}/var/kmod`, workDir: OTHER_FS }))).rejects.toThrow(/did not mount with \S+; putting the previous overlay back/);
    expect(await on("cat /etc/fstab")).toBe(fstab);
    expect(await mountedUpper()).toBe(`upperdir=${root}/opt/modules`);
    expect(await on(`cat ${root}/lib/modules/${MODULE}`)).toBe("module\n");
    expect(fs.existsSync(`${root}/var/kmod`)).toBe(false);
    expect(await on(`ls -d ${OTHER_FS} 2>/dev/null || echo gone`)).toBe("gone\n");
  });
});

describe("repairing the overlay where it is", () => {
  it("an overlay unmounted under us: read sees it, and the update mounts it again in place (no move), with its modules", async () => {
    const olds = await installed();
    await on(`umount ${root}/lib/modules`);
    const { props: read } = (await modulesOverlayProvider.read!("id", olds)) as { props: ModulesOverlayOutputs };
    expect(read.mounted).toBe(false);
    expect(diffOverlay(read, inputs())).toEqual({ changes: true });
    const { outs } = await modulesOverlayProvider.update!("id", read, inputs());
    expect(outs.mounted).toBe(true);
    expect(await mountedUpper()).toBe(`upperdir=${root}/opt/modules`);
    expect(await on(`cat ${root}/lib/modules/${MODULE}`)).toBe("module\n");
    expect(outs.createdDirs).toEqual(olds.createdDirs);
  });
});
