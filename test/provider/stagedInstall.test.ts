// An install for a kernel the host does not run yet (an update staged it for the next
// boot), over real SSH in a private mount namespace: the files go into the overlay's
// folder for that kernel, depmod does not run now (that kernel's tree is not there before
// the reboot) but at its first boot, from a drop-in of systemd-modules-load that kmod-fleet
// writes; deleting the install takes back everything it wrote. `uname`, `modinfo`,
// `depmod` and `systemctl` are stubs; /etc/systemd/system is a private tmpfs.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { moduleInstallProvider, type ModuleInstallInputs, type ModuleInstallOutputs } from "../../components/providers/moduleInstall/moduleInstall";
import { LocalArtifactStore, artifactId, type ArtifactManifest } from "../../artifacts/store";
import { startSshd, type TestSshd } from "./sshd";

const RUNNING = "6.1.0-77-test-amd64";
const STAGED = "6.1.0-78-test-amd64";
const DROPIN = "/etc/systemd/system/systemd-modules-load.service.d/kmod-fleet-depmod.conf";
let sshd: TestSshd;
let dir: string;
let S: string;
let store: string;
let manifest: ArtifactManifest;

const spec = (): ConnectionSpec => ({ host: "h2", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 });
const mods = () => `${dir}/modules`;
const work = () => `${dir}/work`;
const sh = async (script: string) => (await runScript(spec(), script, { timeoutSeconds: 30 })).stdout.trim();
const calls = (name: string) => (fs.existsSync(`${S}/${name}`) ? fs.readFileSync(`${S}/${name}`, "utf8").trim().split("\n").filter(Boolean) : []);

beforeAll(async () => {
  sshd = await startSshd({
    namespace: {
      tmpfs: ["/etc/systemd/system"],
      stubs: {
        // The kernel the host runs: the file's content (the reboot below changes it).
        uname: `if [ "$1" = -r ]; then cat /tmp/kmod-fleet-staged-uname; else exec /bin/uname "$@"; fi`,
        modinfo: `while [ $# -gt 0 ]; do case "$1" in -F) f=$2; shift 2 ;; *) file=$1; shift ;; esac; done; sed -n "s/^$f=//p" "$file" | head -n 1`,
        systemctl: `echo "systemctl $*" >> "$(cat /tmp/kmod-fleet-staged-state)/systemctl"`,
        // Indexes the kernel's folder as depmod would (only the .ko files under it).
        depmod: `S=$(cat /tmp/kmod-fleet-staged-state); echo "depmod $*" >> $S/depmod; k=$2; d=$(cat $S/modules-dir)/$k; (cd "$d" && find . -name '*.ko' -not -path '*/.*' | sed 's|^\\./||; s|$|:|' > modules.dep)`,
      },
    },
  });
  dir = sshd.dir;
  S = `${dir}/state`;
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});
beforeEach(async () => {
  for (const d of [S, mods(), work()]) fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(S, { recursive: true });
  fs.writeFileSync(`${S}/modules-dir`, mods());
  // Only the running kernel has a tree; the staged one's is on the passive partition.
  fs.mkdirSync(`${mods()}/${RUNNING}/kernel`, { recursive: true });
  await sh(`echo ${RUNNING} > /tmp/kmod-fleet-staged-uname; echo ${S} > /tmp/kmod-fleet-staged-state; rm -rf /etc/systemd/system/*`);
  store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  // The providers read the store's folder where they run, as an operator sets it.
  process.env.KMOD_FLEET_STORE = store;
  const files = new Map<string, Buffer>();
  const modules = ["pair_provider", "pair_consumer"].map((name) => {
    const data = Buffer.from(`vermagic=${STAGED} SMP preempt mod_unload\nsrcversion=SRC-${name}\n`);
    files.set(name, data);
    return { name, sha256: crypto.createHash("sha256").update(data).digest("hex"), size: data.length, srcversion: `SRC-${name}`, vermagic: `${STAGED} SMP preempt mod_unload` };
  });
  manifest = { kernelRelease: STAGED, arch: "x86_64", set: "pair", sourceIdentity: "id", modules, builtOn: "h1", builtAt: "t" };
  await new LocalArtifactStore(store).put(manifest, files);
});

const inputs = (): ModuleInstallInputs => ({
  connection: spec(),
  set: "pair",
  kernelRelease: STAGED,
  modulesDir: mods(),
  workDir: work(),
  builder: "h1",
  artifactId: artifactId(manifest),
  manifest,
  buildFailure: "",
  commandTimeoutSeconds: 30,
});

describe("an install for a kernel staged for the next boot", () => {
  it("puts the files in place without depmod, and the first boot of that kernel indexes them before they load", async () => {
    const { outs } = await moduleInstallProvider.create!(inputs());
    expect(outs.installDir).toBe(`${mods()}/${STAGED}/extra/pair`);
    expect(fs.readdirSync(outs.installDir).filter((f) => f.endsWith(".ko")).sort()).toEqual(["pair_consumer.ko", "pair_provider.ko"]);
    expect(calls("depmod")).toEqual([]);
    expect(fs.existsSync(`${work()}/depmod-at-boot/${STAGED}`)).toBe(true);
    const dropin = await sh(`cat ${DROPIN}`);
    expect(dropin.split("\n")[0]).toMatch(/^# Written by kmod-fleet/);
    expect(dropin).toContain(`ExecStartPre=/bin/sh -c 'k=$$(uname -r); if [ -e ${work()}/depmod-at-boot/$$k ]; then depmod -a $$k && rm -f ${work()}/depmod-at-boot/$$k; fi; exit 0'`);
    expect(calls("systemctl")).toEqual(["systemctl daemon-reload"]);
    // Not drift: the index comes at the boot.
    const read = await moduleInstallProvider.read!("id", outs as ModuleInstallOutputs);
    expect(read.props.drift).toEqual([]);
    // The running kernel's folder is untouched.
    expect(fs.readdirSync(`${mods()}/${RUNNING}`)).toEqual(["kernel"]);

    // The reboot: the staged kernel runs, and its tree is there; systemd-modules-load runs
    // the drop-in's command (systemd turns $$ into $) before it loads the modules.
    fs.mkdirSync(`${mods()}/${STAGED}/kernel`, { recursive: true });
    await sh(`echo ${STAGED} > /tmp/kmod-fleet-staged-uname`);
    const command = dropin.match(/^ExecStartPre=\/bin\/sh -c '(.*)'$/m)![1].replaceAll("$$", "$");
    await sh(command);
    expect(calls("depmod")).toEqual([`depmod -a ${STAGED}`]);
    expect(fs.existsSync(`${work()}/depmod-at-boot/${STAGED}`)).toBe(false);
    expect(fs.readFileSync(`${mods()}/${STAGED}/modules.dep`, "utf8")).toContain("extra/pair/pair_consumer.ko:");
    // The same command at a later boot does nothing.
    await sh(command);
    expect(calls("depmod")).toHaveLength(1);
    expect((await moduleInstallProvider.read!("id", outs as ModuleInstallOutputs)).props.drift).toEqual([]);
  });

  it("read of an install for a kernel that neither runs nor waits for its boot (the host moved on from it) reports, never fails", async () => {
    const { outs } = await moduleInstallProvider.create!(inputs());
    fs.rmSync(`${work()}/depmod-at-boot/${STAGED}`);
    const read = await moduleInstallProvider.read!("id", outs as ModuleInstallOutputs);
    expect([...read.props.drift].sort()).toEqual(["pair_consumer.ko is not in modules.dep (depmod)", "pair_provider.ko is not in modules.dep (depmod)"]);
  });

  it("a wrong vermagic is refused before anything is staged or written for the boot", async () => {
    const other = { ...inputs(), kernelRelease: "6.1.0-79-test-amd64" };
    await expect(moduleInstallProvider.create!(other)).rejects.toThrow(/has vermagic '6\.1\.0-78-test-amd64', but this host's kernel is 6\.1\.0-79-test-amd64; nothing was installed/);
    expect(await sh(`ls -A ${DROPIN} ${work()}/depmod-at-boot 2>/dev/null; true`)).toBe("");
    expect(fs.existsSync(`${mods()}/6.1.0-79-test-amd64`)).toBe(false);
  });

  it("deleting it before the reboot takes back the files, the kernel's folder, the marker and the drop-in", async () => {
    const { outs } = await moduleInstallProvider.create!(inputs());
    await moduleInstallProvider.delete!("id", outs);
    expect(fs.existsSync(`${mods()}/${STAGED}`)).toBe(false);
    expect(fs.existsSync(`${work()}/depmod-at-boot`)).toBe(false);
    expect(await sh(`ls -A ${DROPIN} 2>/dev/null; true`)).toBe("");
    expect(calls("depmod")).toEqual([]);
    expect(fs.readdirSync(`${mods()}/${RUNNING}`)).toEqual(["kernel"]);
  });

  it("a drop-in of that name kmod-fleet did not write is refused: nothing installed, the file left alone", async () => {
    await sh(`mkdir -p $(dirname ${DROPIN}) && echo '# mine' > ${DROPIN}`);
    await expect(moduleInstallProvider.create!(inputs())).rejects.toThrow(/refusing: .*kmod-fleet-depmod\.conf, which kmod-fleet did not write, is in the way of the boot-time depmod for 6\.1\.0-78-test-amd64; nothing was installed/);
    expect(await sh(`cat ${DROPIN}`)).toBe("# mine");
    expect(fs.existsSync(`${mods()}/${STAGED}`)).toBe(false);
  });
});
