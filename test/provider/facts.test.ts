// Host facts read over a real SSH connection, from release files laid out like Flatcar's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import { execSync } from "child_process";
import { closeAllSessions, type ConnectionSpec } from "../../host/ssh/session";
import { hostFactsProvider, parseFactsOutput, probeFacts, type FactsProbe } from "../../components/providers/hostFacts/hostFacts";
import { runScript } from "../../host/ssh/session";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
let probe: FactsProbe;
beforeAll(async () => {
  sshd = await startSshd();
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  const d = sshd.dir;
  fs.writeFileSync(`${d}/release`, "FLATCAR_RELEASE_VERSION=3975.2.0\nFLATCAR_RELEASE_BOARD=amd64-usr\nFLATCAR_RELEASE_APPID={e96281a6-d1af-4bde-9a0a-97b76e56dc57}\n");
  fs.writeFileSync(`${d}/update.conf`, "SERVER=https://public.update.flatcar-linux.net/v1/update/\nGROUP=stable\n");
  fs.writeFileSync(`${d}/etc-update.conf`, "GROUP=beta\n");
  fs.writeFileSync(`${d}/config-${os.release()}`, "CONFIG_MODULES=y\n");
  probe = {
    releaseFiles: [`${d}/release`],
    versionVariable: "FLATCAR_RELEASE_VERSION",
    boardVariable: "FLATCAR_RELEASE_BOARD",
    updateConfFiles: [`${d}/update.conf`, `${d}/etc-update.conf`],
    defaultGroup: "stable",
    kernelConfigSources: ["/proc/nonexistent-config.gz", `${d}/config-\${KERNEL}`],
  };
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

describe("host facts", () => {
  it("reads kernel, release, group (the /etc override wins) and the first kernel config that exists", async () => {
    const facts = await probeFacts(spec, probe);
    expect(facts).toMatchObject({
      kernelRelease: os.release(),
      arch: "x86_64",
      osVersion: "3975.2.0",
      board: "amd64-usr",
      group: "beta",
      kernelConfig: `${sshd.dir}/config-${os.release()}`,
    });
    expect(facts.bootId).toBe(fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    // This machine's own module-signing state, read the same way; the config file has no MODULE_SIG_FORCE line.
    const first = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n")[0] : "");
    expect(facts.moduleSigForce).toBe("n");
    expect(facts.sigEnforce).toBe(first("/sys/module/module/parameters/sig_enforce"));
    expect(facts.lockdown).toBe(/\[(\w+)\]/.exec(first("/sys/kernel/security/lockdown"))?.[1] ?? "");
    if (!fs.existsSync("/sys/firmware/efi")) expect(facts.secureBoot).toBe("not-efi");
    expect(facts.osId).toBe(execSync(". /etc/os-release; echo $ID", { shell: "/bin/bash" }).toString().trim());
  });

  it("a Nebraska group UUID falls back to the default channel for download URLs", async () => {
    fs.writeFileSync(`${sshd.dir}/etc-update.conf`, "GROUP=9a2deb70-37be-4026-853f-bfdd6b347bbe\n");
    expect((await probeFacts(spec, probe)).group).toBe("stable");
    fs.writeFileSync(`${sshd.dir}/etc-update.conf`, "GROUP=beta\n");
  });

  it("reports no kernel config when none of the sources exists", async () => {
    expect((await probeFacts(spec, { ...probe, kernelConfigSources: ["/nope/${KERNEL}"] })).kernelConfig).toBe("");
  });

  it("a release value holding a line break cannot set another fact: the probe fails, naming the value and its file", async () => {
    fs.writeFileSync(`${sshd.dir}/release-nl`, "FLATCAR_RELEASE_VERSION=$'3975.2.0\\nkernelRelease=6.6.6-evil'\nFLATCAR_RELEASE_BOARD=amd64-usr\n");
    const answer = await probeFacts(spec, { ...probe, releaseFiles: [`${sshd.dir}/release-nl`] }).then(
      (f) => f.kernelRelease,
      (e: Error) => e.message,
    );
    expect(answer).toMatch(/^loop: the host reported values kmod-fleet refuses to use[^\n]*\n {2}OS version "3975\.2\.0\\nkernelRelease=6\.6\.6-evil" \(FLATCAR_RELEASE_VERSION in /);
  });

  it("what a release file prints is no answer: the facts are the host's", async () => {
    fs.writeFileSync(`${sshd.dir}/release-echo`, "echo kernelRelease=6.6.6-evil\necho bootId=0\nFLATCAR_RELEASE_VERSION=3975.2.0\nFLATCAR_RELEASE_BOARD=amd64-usr\n");
    const facts = await probeFacts(spec, { ...probe, releaseFiles: [`${sshd.dir}/release-echo`] });
    expect(facts).toMatchObject({ kernelRelease: os.release(), osVersion: "3975.2.0", board: "amd64-usr" });
  });

  it("a value past any sane length is refused, shown cut short", async () => {
    fs.writeFileSync(`${sshd.dir}/release-long`, `FLATCAR_RELEASE_VERSION=${"9".repeat(5000)}\nFLATCAR_RELEASE_BOARD=amd64-usr\n`);
    await expect(probeFacts(spec, { ...probe, releaseFiles: [`${sshd.dir}/release-long`] })).rejects.toThrow(/OS version "9{100}"\.\.\. \(5000 characters\) \(FLATCAR_RELEASE_VERSION in [^)]*\): longer than 64 characters/);
  });

  it("an answer with a key twice, or a line that is not key=base64, is refused", () => {
    const b64 = (v: string) => Buffer.from(v).toString("base64");
    expect(parseFactsOutput("h", `kernelRelease=${b64("6.1.0")}\nosVersion=${b64("1.2")}\n`)).toMatchObject({ kernelRelease: "6.1.0", osVersion: "1.2" });
    expect(() => parseFactsOutput("h", `kernelRelease=${b64("6.1.0")}\nkernelRelease=${b64("6.6.6-evil")}\n`)).toThrow(/^h: the host's facts cannot be read[^]*kernelRelease printed twice/);
    expect(() => parseFactsOutput("h", "kernelRelease=6.6.6 evil\n")).toThrow(/unexpected line "kernelRelease=6\.6\.6 evil"/);
    expect(() => parseFactsOutput("h", `__proto__=${b64("x")}\n`)).toThrow(/unexpected line "__proto__=/);
  });

  it("read (pulumi refresh) probes the host again", async () => {
    const stale = { connection: spec, probe, kernelRelease: "4.14.81-coreos", osVersion: "1911.4.0" };
    const r = await hostFactsProvider.read!("loop-facts", stale as any);
    expect(r.props).toMatchObject({ kernelRelease: os.release(), osVersion: "3975.2.0" });
  });

  it("create fails with the reason when the host could not be probed", async () => {
    await expect(hostFactsProvider.create({ connection: spec, probe, unreachable: "loop: cannot reach root@127.0.0.1:1 after 3 attempt(s) in 7 s" })).rejects.toThrow(/cannot reach/);
  });
});

/** A file with the x86 boot header's fields a kernel image carries: "HdrS" and where its version string is. */
function fakeKernelImage(file: string, release: string): void {
  const b = Buffer.alloc(0x400);
  b.write("HdrS", 0x202, "latin1");
  b.writeUInt16LE(0x100, 0x20e);
  b.write(`${release} (builder@example) #1 SMP PREEMPT_DYNAMIC Debian\0`, 0x300, "latin1");
  fs.writeFileSync(file, b);
}

describe("a staged OS update", () => {
  let staged: TestSshd;
  let stagedSpec: ConnectionSpec;
  let slots: FactsProbe;
  const STAGED = "6.1.0-99-test-amd64";
  beforeAll(async () => {
    // update_engine_client prints what the file holds, like Flatcar's once an update is written.
    staged = await startSshd({ namespace: { stubs: { update_engine_client: `cat "$(cat /tmp/kmod-fleet-facts-ue)" 2>/dev/null || printf 'CURRENT_OP=UPDATE_STATUS_IDLE\\nNEW_VERSION=0.0.0\\n'` } } });
    stagedSpec = { ...spec, port: staged.port, hostKeys: [staged.hostKey], privateKey: staged.privateKey };
    slots = { ...probe, kernelImages: [`${staged.dir}/vmlinuz-a`, `${staged.dir}/vmlinuz-b`] };
    fakeKernelImage(`${staged.dir}/vmlinuz-a`, os.release());
    fs.writeFileSync("/tmp/kmod-fleet-facts-ue", `${staged.dir}/status`);
  });
  afterAll(async () => {
    await staged?.stop();
    fs.rmSync("/tmp/kmod-fleet-facts-ue", { force: true });
  });

  it("idle: the running slot, and nothing staged (the other slot's kernel is the one to roll back to)", async () => {
    fakeKernelImage(`${staged.dir}/vmlinuz-b`, "6.1.0-10-test-amd64");
    fs.writeFileSync(`${staged.dir}/status`, "LAST_CHECKED_TIME=0\nPROGRESS=0.0\nCURRENT_OP=UPDATE_STATUS_IDLE\nNEW_VERSION=0.0.0\nNEW_SIZE=0\n");
    expect(await probeFacts(stagedSpec, slots)).toMatchObject({ bootSlot: "a", stagedOsVersion: "", stagedKernelRelease: "", stagedSlot: "" });
  });

  it("written and waiting for the reboot: its version, and its kernel's release read from the other slot's image", async () => {
    fakeKernelImage(`${staged.dir}/vmlinuz-b`, STAGED);
    fs.writeFileSync(`${staged.dir}/status`, "LAST_CHECKED_TIME=1764500000\nPROGRESS=0.0\nCURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT\nNEW_VERSION=3975.2.1\nNEW_SIZE=123\n");
    expect(await probeFacts(stagedSpec, slots)).toMatchObject({ kernelRelease: os.release(), bootSlot: "a", stagedOsVersion: "3975.2.1", stagedKernelRelease: STAGED, stagedSlot: "b" });
  });

  it("the host runs slot b: the staged kernel is in slot a", async () => {
    fakeKernelImage(`${staged.dir}/vmlinuz-b`, os.release());
    fakeKernelImage(`${staged.dir}/vmlinuz-a`, STAGED);
    expect(await probeFacts(stagedSpec, slots)).toMatchObject({ bootSlot: "b", stagedKernelRelease: STAGED, stagedSlot: "a" });
    fakeKernelImage(`${staged.dir}/vmlinuz-a`, os.release());
  });

  it("a slot image that is not a kernel gives no release: the update is reported, its kernel unknown", async () => {
    fs.writeFileSync(`${staged.dir}/vmlinuz-b`, "not a kernel image\n");
    expect(await probeFacts(stagedSpec, slots)).toMatchObject({ stagedOsVersion: "3975.2.1", stagedKernelRelease: "" });
  });

  it("a staged kernel release longer than a kernel keeps is refused", async () => {
    fakeKernelImage(`${staged.dir}/vmlinuz-b`, `6.1.0-${"x".repeat(100)}`);
    await expect(probeFacts(stagedSpec, slots)).rejects.toThrow(/staged kernel release "6\.1\.0-x+"\.\.\. \(106 characters\) \(the staged kernel image .*\): longer than 64 characters/);
  });

  it("a version string the host makes up is refused, naming where it came from", async () => {
    fakeKernelImage(`${staged.dir}/vmlinuz-b`, "../../etc");
    await expect(probeFacts(stagedSpec, slots)).rejects.toThrow(/staged kernel release "\.\.\/\.\.\/etc" \(the staged kernel image/);
  });

  it("the reboot gate's hold, as the gate's state on the host says: no state, no hold; a state it never writes is refused", async () => {
    fakeKernelImage(`${staged.dir}/vmlinuz-b`, STAGED);
    const gated = { ...slots, rebootGateDir: `${staged.dir}/gate` };
    expect((await probeFacts(stagedSpec, gated)).rebootHold).toBeUndefined();
    fs.mkdirSync(`${staged.dir}/gate`, { recursive: true });
    fs.writeFileSync(`${staged.dir}/gate/state`, `state=held\nversion=3975.2.1\nkernel=${STAGED}\nsince=1796529600\nwaiting=kmod-pair\nchecked=1796529630\n`);
    expect((await probeFacts(stagedSpec, gated)).rebootHold).toEqual({ state: "held", version: "3975.2.1", kernel: STAGED, since: "2026-12-06T04:00:00Z", waiting: ["kmod-pair"] });
    fs.writeFileSync(`${staged.dir}/gate/state`, "state=held\nversion=$(reboot)\n");
    await expect(probeFacts(stagedSpec, gated)).rejects.toThrow(/^loop: the reboot gate's state cannot be read \(version\) \(\S+\/gate\/state\)$/);
  });
});

describe("a kernel release the host makes up", () => {
  let fake: TestSshd;
  beforeAll(async () => {
    // uname -r answers 5,000 characters; everything else is the machine's.
    fake = await startSshd({ namespace: { stubs: { uname: `if [ "$1" = -r ]; then printf '6.6.6-%s\\n' "$(printf 'a%.0s' {1..5000})"; else exec /usr/bin/uname "$@"; fi` } } });
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it("is refused past the 64 characters a kernel keeps", async () => {
    const fakeSpec = { ...spec, port: fake.port, privateKey: fake.privateKey, hostKeys: [fake.hostKey] };
    await expect(probeFacts(fakeSpec, probe)).rejects.toThrow(/^loop: the host reported values kmod-fleet refuses to use[^\n]*\n {2}kernel release \(uname -r\) "6\.6\.6-a+"\.\.\. \(5006 characters\): longer than 64 characters/);
  });
});

// A host dressed as Flatcar under Secure Boot: sshd in a private mount namespace where
// /sys/module, /sys/kernel/security and /sys/firmware are empty tmpfs folders that the test
// fills over SSH with what such a kernel shows there.
describe("module-signing facts", () => {
  let ns: TestSshd;
  let nsSpec: ConnectionSpec;
  const sh = (script: string) => runScript(nsSpec, script, { timeoutSeconds: 30 });
  const SB_VAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0a2c9a4e";

  beforeAll(async () => {
    ns = await startSshd({ namespace: { tmpfs: ["/sys/module", "/sys/kernel/security", "/sys/firmware"] } });
    nsSpec = { ...spec, host: "sb", port: ns.port, privateKey: ns.privateKey, hostKeys: [ns.hostKey] };
    execSync(`printf 'CONFIG_MODULES=y\\nCONFIG_MODULE_SIG=y\\n# CONFIG_MODULE_SIG_FORCE is not set\\n' | gzip > ${ns.dir}/config.gz`);
    await sh(
      [
        "mkdir -p /sys/module/module/parameters /sys/firmware/efi/efivars",
        "echo N > /sys/module/module/parameters/sig_enforce",
        "echo 'none [integrity] confidentiality' > /sys/kernel/security/lockdown",
        `printf '\\006\\000\\000\\000\\001' > ${SB_VAR}`,
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await ns?.stop();
  });
  const sbProbe = () => ({ ...probe, kernelConfigSources: [`${ns.dir}/config.gz`] });

  it("reads sig_enforce, the lockdown mode, Secure Boot and the running config's MODULE_SIG_FORCE", async () => {
    expect(await probeFacts(nsSpec, sbProbe())).toMatchObject({ moduleSigForce: "n", machineKeyring: "n", sigEnforce: "N", lockdown: "integrity", secureBoot: "on" });
    await sh(`echo Y > /sys/module/module/parameters/sig_enforce; printf '\\006\\000\\000\\000\\000' > ${SB_VAR}; echo '[none] integrity confidentiality' > /sys/kernel/security/lockdown`);
    expect(await probeFacts(nsSpec, sbProbe())).toMatchObject({ sigEnforce: "Y", lockdown: "none", secureBoot: "off" });
  });

  it("no EFI, no lockdown file, no sig_enforce: nothing is claimed", async () => {
    await sh("rm -rf /sys/firmware/efi /sys/kernel/security/lockdown /sys/module/module");
    expect(await probeFacts(nsSpec, sbProbe())).toMatchObject({ sigEnforce: "", lockdown: "", secureBoot: "not-efi" });
  });

  it("a host answering nonsense fails its facts clearly, naming the values and their files", async () => {
    await sh(
      [
        "mkdir -p /sys/module/module/parameters /sys/firmware/efi/efivars",
        "echo 'maybe; rm -rf /' > /sys/module/module/parameters/sig_enforce",
        "echo '[none] [integrity]' > /sys/kernel/security/lockdown",
        `printf '\\006\\000\\000\\000\\007' > ${SB_VAR}`,
      ].join("\n"),
    );
    const err = await probeFacts(nsSpec, sbProbe()).then(
      () => "",
      (e: Error) => e.message,
    );
    expect(err).toMatch(/^sb: the host reported module-signing facts kmod-fleet cannot read:/);
    expect(err).toContain('sigEnforce "maybe; rm -rf /" (/sys/module/module/parameters/sig_enforce): expected Y or N');
    expect(err).toContain('lockdown "[none] [integrity]" (/sys/kernel/security/lockdown)');
    expect(err).toContain('secureBoot "7" (/sys/firmware/efi/efivars/SecureBoot-');
  });
});
