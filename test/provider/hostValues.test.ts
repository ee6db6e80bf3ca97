// Values from the config or from a host that would make a host script touch something
// outside kmod-fleet's folders, or read as a command's option, are refused on the host.
// sshd runs in a private mount namespace with stubbed systemctl/modprobe/depmod.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import { closeAllSessions, type ConnectionSpec } from "../../host/ssh/session";
import { probeFacts } from "../../components/providers/hostFacts/hostFacts";
import { developerContainerProvider } from "../../components/providers/developerContainer/developerContainer";
import { modulesOverlayProvider } from "../../components/providers/modulesOverlay/modulesOverlay";
import { moduleLoadProvider } from "../../components/providers/moduleLoad/moduleLoad";
import { moduleBuildProvider } from "../../components/providers/moduleBuild/moduleBuild";
import { moduleInstallProvider } from "../../components/providers/moduleInstall/moduleInstall";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
let root: string;
const calls = () => (fs.existsSync(`${sshd.dir}/calls`) ? fs.readFileSync(`${sshd.dir}/calls`, "utf8") : "");

beforeAll(async () => {
  sshd = await startSshd({
    namespace: {
      stubs: { systemctl: "exit 0", modprobe: "exit 0", depmod: "exit 0" },
      tmpfs: ["/etc/systemd/system", "/etc/modules-load.d", "/etc/modprobe.d", "/sys/module"],
      privateFiles: ["/etc/fstab"],
    },
  });
  // Stubs that record their calls into the sshd folder, known only now.
  for (const name of ["systemctl", "modprobe", "depmod"]) {
    fs.writeFileSync(`${sshd.dir}/stubs/${name}`, `#!/bin/bash\necho "${name} $*" >> ${sshd.dir}/calls\n`, { mode: 0o755 });
  }
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  root = fs.mkdtempSync(`${sshd.dir}/root-`);
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

describe("values a host reports", () => {
  it("a release file with VERSION=../../../../etc fails the facts, naming the host and the value", async () => {
    fs.writeFileSync(`${root}/release`, "FLATCAR_RELEASE_VERSION=../../../../etc\nFLATCAR_RELEASE_BOARD=amd64-usr\n");
    const probe = { releaseFiles: [`${root}/release`], versionVariable: "FLATCAR_RELEASE_VERSION", boardVariable: "FLATCAR_RELEASE_BOARD", updateConfFiles: [`${root}/none`], defaultGroup: "stable", kernelConfigSources: ["/proc/config.gz"] };
    await expect(probeFacts(spec, probe)).rejects.toThrow(/^loop: the host reported values kmod-fleet refuses to use[^]*OS version "\.\.\/\.\.\/\.\.\/\.\.\/etc" \(FLATCAR_RELEASE_VERSION in /);
  });

  it("a developer container recorded with such a version is never deleted outside its cache", async () => {
    const victim = `${root}/victim`;
    fs.mkdirSync(`${victim}/keep`, { recursive: true });
    fs.mkdirSync(`${root}/cache`);
    const props = { connection: spec, osVersion: "../victim", imageUrl: "http://x/i", signatureUrl: "http://x/s", signingKey: "", signingKeyFingerprint: "", cacheDir: `${root}/cache`, commandTimeoutSeconds: 30 };
    await expect(developerContainerProvider.delete!("id", props)).rejects.toThrow(/refusing the OS version '\.\.\/victim' \(VERSION\): expected one plain name/);
    expect(fs.existsSync(`${victim}/keep`)).toBe(true);
  });

  it("an install or a build recorded for a kernel release like ../.. is never deleted outside kmod-fleet's folders", async () => {
    fs.mkdirSync(`${root}/mods/k/extra/s`, { recursive: true });
    fs.mkdirSync(`${root}/victim2/extra/s`, { recursive: true });
    fs.mkdirSync(`${root}/work/jobs/victim3/s`, { recursive: true });
    const install = { connection: spec, set: "s", kernelRelease: "../victim2", modulesDir: `${root}/mods`, workDir: `${root}/work`, storePath: `${root}/store`, builder: "loop", artifactId: "a", manifest: null, buildFailure: "", commandTimeoutSeconds: 30, modules: [], installDir: "", drift: [] };
    await expect(moduleInstallProvider.delete!("id", install)).rejects.toThrow(/refusing the kernel release '\.\.\/victim2'/);
    expect(fs.existsSync(`${root}/victim2/extra/s`)).toBe(true);
    const build = { connection: spec, builder: "loop", set: "s", kernelRelease: "../jobs/victim3", arch: "x86_64", kernelConfig: "/proc/config.gz", imagePath: "/x", sourcesCommand: "true", source: { kind: "dir", dir: "x" }, sourceDir: "", sourceHash: "", sourceIdentity: "i", modulesDir: `${root}/mods`, workDir: `${root}/work`, storePath: `${root}/store`, obtain: "stored", buildTimeoutSeconds: 60, commandTimeoutSeconds: 30, leftoversOn: [{ host: "loop", connection: spec }], ownsEntry: false, manifest: null };
    await expect(moduleBuildProvider.delete!("id", build as any)).rejects.toThrow(/refusing the kernel release '\.\.\/jobs\/victim3'/);
    expect(fs.existsSync(`${root}/work/jobs/victim3/s`)).toBe(true);
  });
});

describe("values that would read as options or patterns", () => {
  it("a module name like -r never reaches modprobe", async () => {
    fs.rmSync(`${sshd.dir}/calls`, { force: true });
    const props = { connection: spec, set: "s", modules: ["-r"], parameters: {}, kernelRelease: "k", buildDigest: "", workDir: `${root}/work`, kernelConfig: "", commandTimeoutSeconds: 30 };
    await expect(moduleLoadProvider.create(props)).rejects.toThrow(/refusing the module name '-r'/);
    await expect(moduleLoadProvider.delete!("id", { ...props, notLoaded: [], persisted: true })).rejects.toThrow(/refusing the module name '-r'/);
    expect(calls()).not.toMatch(/modprobe/);
  });

  it("modprobe gets -- before the module name", async () => {
    fs.rmSync(`${sshd.dir}/calls`, { force: true });
    await moduleLoadProvider.create({ connection: spec, set: "s", modules: ["kmod-fleet-test-mod"], parameters: {}, kernelRelease: "k", buildDigest: "", workDir: `${root}/work`, kernelConfig: "", commandTimeoutSeconds: 30 });
    expect(calls()).toContain("modprobe -- kmod-fleet-test-mod");
  });

  it("a glob in the overlay's folders removes nothing: the path is refused, a sibling stays", async () => {
    fs.mkdirSync(`${root}/opt/modules-sibling/keep`, { recursive: true });
    const props = { connection: spec, modulesDir: `${root}/lower`, upperDir: `${root}/opt/modules*`, workDir: `${root}/opt/modules.wd`, persistence: "fstab", commandTimeoutSeconds: 30, mounted: false, persisted: false, createdDirs: [`${root}/opt/modules*`] };
    await expect(modulesOverlayProvider.delete!("id", props)).rejects.toThrow(/refusing the path '.*modules\*'/);
    expect(fs.existsSync(`${root}/opt/modules-sibling/keep`)).toBe(true);
  });

  it("delete removes only recorded folders that are the overlay's own upper and work dirs", async () => {
    fs.mkdirSync(`${root}/opt2/modules`, { recursive: true });
    fs.mkdirSync(`${root}/opt2/other/keep`, { recursive: true });
    fs.mkdirSync(`${root}/lower2`, { recursive: true });
    const props = { connection: spec, modulesDir: `${root}/lower2`, upperDir: `${root}/opt2/modules`, workDir: `${root}/opt2/modules.wd`, persistence: "fstab", commandTimeoutSeconds: 30, mounted: false, persisted: false, createdDirs: [`${root}/opt2/modules`, `${root}/opt2/other`] };
    await modulesOverlayProvider.delete!("id", props);
    expect(fs.existsSync(`${root}/opt2/modules`)).toBe(false);
    expect(fs.existsSync(`${root}/opt2/other/keep`)).toBe(true);
  });
});
