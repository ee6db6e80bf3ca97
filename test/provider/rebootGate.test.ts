// The reboot gate over real SSH in a private mount namespace: create keeps the user's
// update.conf byte for byte and writes it with REBOOT_STRATEGY=off; the check the timer
// runs holds the reboot into a staged release while a set has no verified install for its
// kernel, releases it (the user's file back) once install.sh has installed it, and after
// maxRebootHold proceeds or keeps holding as the policy says; delete gives the file back.
// Stubs (on PATH in the namespace): `update_engine_client` prints the status in the test's
// state folder (idle, or UPDATED_NEED_REBOOT with NEW_VERSION); `systemctl` records its
// calls, and `is-enabled` fails for a unit the test marked disabled; `uname -r` prints the running kernel; `modinfo` and `depmod` as install.sh needs
// them. /etc/systemd/system and /run/lock are private tmpfs; update.conf, the A/B kernel
// images and the modules folder are in the test's folder.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { rebootGateProvider, type RebootGateInputs, type RebootGateOutputs } from "../../components/providers/rebootGate/rebootGate";
import { moduleInstallProvider, type ModuleInstallInputs } from "../../components/providers/moduleInstall/moduleInstall";
import { LocalArtifactStore, artifactId, type ArtifactManifest } from "../../artifacts/store";
import { startSshd, type TestSshd } from "./sshd";

const RUNNING = "6.1.0-77-test-amd64";
const STAGED = "6.1.0-78-test-amd64";
const VERSION = "3975.2.1";
const USER_CONF = "GROUP=stable\n# the operator's window\nREBOOT_STRATEGY=reboot\nLOCKSMITHD_REBOOT_WINDOW_START=\"Thu 23:00\"\nLOCKSMITHD_REBOOT_WINDOW_LENGTH=1h30m\n";
let sshd: TestSshd;
let dir: string;
let S: string;

const spec = (): ConnectionSpec => ({ host: "h2", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 });
const mods = () => `${dir}/modules`;
const conf = () => `${dir}/etc/flatcar/update.conf`;
const gateDir = () => `${dir}/var/lib/kmod-fleet/reboot-gate`;
const sh = async (script: string) => (await runScript(spec(), script, { timeoutSeconds: 30 })).stdout.trim();
const calls = () => (fs.existsSync(`${S}/systemctl`) ? fs.readFileSync(`${S}/systemctl`, "utf8").trim().split("\n").filter(Boolean) : []);

/** A kernel image as facts.sh and gate.sh read it: "HdrS" at 0x202, at 0x20E the offset (from 0x200) of the release string. */
function kernelImage(file: string, release: string): void {
  const b = Buffer.alloc(0x400);
  b.write("HdrS", 0x202, "latin1");
  b.writeUInt16LE(0x100, 0x20e);
  b.write(`${release} (builder@test) #1 SMP\0`, 0x300, "latin1");
  fs.writeFileSync(file, b);
}

const inputs = (over: Partial<RebootGateInputs> = {}): RebootGateInputs => ({
  connection: spec(),
  sets: ["pair"],
  modulesDir: mods(),
  kernelImages: [`${dir}/boot/vmlinuz-a`, `${dir}/boot/vmlinuz-b`],
  updateConf: conf(),
  gateDir: gateDir(),
  maxRebootHoldSeconds: 3600,
  afterMaxHold: "proceed",
  commandTimeoutSeconds: 30,
  ...over,
});

/** An update staged (update_engine's status), or none. */
function staged(on: boolean): void {
  fs.writeFileSync(`${S}/status`, on ? `LAST_CHECKED_TIME=1\nPROGRESS=0.0\nCURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT\nNEW_VERSION=${VERSION}\nNEW_SIZE=1\n` : "CURRENT_OP=UPDATE_STATUS_IDLE\nNEW_VERSION=0.0.0\n");
}

/** What the timer runs: the service unit's ExecStart with its EnvironmentFile, read from the unit kmod-fleet wrote. */
async function timerCheck(): Promise<string> {
  const unit = await sh("cat /etc/systemd/system/kmod-fleet-reboot-gate.service");
  const envFile = /^EnvironmentFile=(.*)$/m.exec(unit)![1];
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1];
  return sh(`set -a; . ${envFile}; set +a; ${exec}`);
}

/** The real install of the set for the staged kernel (install.sh), as the fleet makes it before the reboot. */
async function installStaged(): Promise<string> {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  process.env.KMOD_FLEET_STORE = store;
  const files = new Map<string, Buffer>();
  const modules = ["pair_provider", "pair_consumer"].map((name) => {
    const data = Buffer.from(`vermagic=${STAGED} SMP preempt mod_unload\nsrcversion=SRC-${name}\n`);
    files.set(name, data);
    return { name, sha256: crypto.createHash("sha256").update(data).digest("hex"), size: data.length, srcversion: `SRC-${name}`, vermagic: `${STAGED} SMP preempt mod_unload` };
  });
  const manifest: ArtifactManifest = { kernelRelease: STAGED, arch: "x86_64", set: "pair", sourceIdentity: "id", modules, builtOn: "h1", builtAt: "t" };
  await new LocalArtifactStore(store).put(manifest, files);
  const install: ModuleInstallInputs = { connection: spec(), set: "pair", kernelRelease: STAGED, modulesDir: mods(), workDir: `${dir}/work`, builder: "h1", artifactId: artifactId(manifest), manifest, buildFailure: "", commandTimeoutSeconds: 30 };
  const { outs } = await moduleInstallProvider.create!(install);
  return outs.installDir;
}

beforeAll(async () => {
  sshd = await startSshd({
    namespace: {
      tmpfs: ["/etc/systemd/system", "/run/lock"],
      stubs: {
        update_engine_client: `[ "$1" = -status ] && cat "$(cat /tmp/kmod-fleet-gate-state)/status"`,
        systemctl: `S=$(cat /tmp/kmod-fleet-gate-state); echo "systemctl $*" >> $S/systemctl; [ "$1" != is-enabled ] || [ ! -e "$S/disabled-\${!#}" ]`,
        uname: `if [ "$1" = -r ]; then echo ${RUNNING}; else exec /bin/uname "$@"; fi`,
        modinfo: `while [ $# -gt 0 ]; do case "$1" in -F) f=$2; shift 2 ;; *) file=$1; shift ;; esac; done; sed -n "s/^$f=//p" "$file" | head -n 1`,
        depmod: "exit 0",
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
  for (const d of [S, mods(), `${dir}/etc`, `${dir}/var`, `${dir}/boot`, `${dir}/work`]) fs.rmSync(d, { recursive: true, force: true });
  for (const d of [S, `${mods()}/${RUNNING}/kernel`, `${dir}/etc/flatcar`, `${dir}/boot`]) fs.mkdirSync(d, { recursive: true });
  kernelImage(`${dir}/boot/vmlinuz-a`, RUNNING);
  kernelImage(`${dir}/boot/vmlinuz-b`, STAGED);
  fs.writeFileSync(conf(), USER_CONF, { mode: 0o640 });
  staged(false);
  await sh(`echo ${S} > /tmp/kmod-fleet-gate-state; rm -rf /etc/systemd/system/*`);
});

describe("the reboot gate", () => {
  it("create keeps the user's update.conf byte for byte, writes it with REBOOT_STRATEGY=off, and delete gives it back exactly", async () => {
    const { outs } = await rebootGateProvider.create!(inputs());
    expect(fs.readFileSync(`${gateDir()}/update.conf.user`, "utf8")).toBe(USER_CONF);
    const written = fs.readFileSync(conf(), "utf8").split("\n");
    expect(written[0]).toMatch(/^# Written by kmod-fleet/);
    expect(written.slice(1)).toEqual(["GROUP=stable", "# the operator's window", 'LOCKSMITHD_REBOOT_WINDOW_START="Thu 23:00"', "LOCKSMITHD_REBOOT_WINDOW_LENGTH=1h30m", "REBOOT_STRATEGY=off", ""]);
    // locksmithd, if it runs, reads REBOOT_STRATEGY=off (and exits); the timer runs the check.
    expect(calls()).toEqual(["systemctl try-restart locksmithd.service", "systemctl daemon-reload", "systemctl enable --now kmod-fleet-reboot-gate.timer", "systemctl is-enabled --quiet kmod-fleet-reboot-gate.timer"]);
    expect(await sh("cat /etc/systemd/system/kmod-fleet-reboot-gate.timer")).toMatch(/OnBootSec=0\nOnUnitActiveSec=30s/);
    expect(outs).toMatchObject({ units: true, updateConfKept: true, hold: { state: "idle" } });
    const read = await rebootGateProvider.read!("id", outs as RebootGateOutputs);
    expect(read.props).toMatchObject({ units: true, updateConfKept: true });

    await rebootGateProvider.delete!("id", outs as RebootGateOutputs);
    expect(fs.readFileSync(conf(), "utf8")).toBe(USER_CONF);
    expect(fs.statSync(conf()).mode & 0o777).toBe(0o640);
    expect(fs.existsSync(gateDir())).toBe(false);
    expect(await sh("ls -A /etc/systemd/system")).toBe("");
    // locksmithd exited when it read REBOOT_STRATEGY=off: it is started again with the user's file.
    expect(calls().slice(-2)).toEqual(["systemctl is-enabled --quiet locksmithd.service", "systemctl restart locksmithd.service"]);
  });

  it("a host without an update.conf (nor its folder) has none again after delete, nor the folders the gate made", async () => {
    fs.rmSync(path.dirname(conf()), { recursive: true });
    const { outs } = await rebootGateProvider.create!(inputs());
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/^# Written by kmod-fleet.*\nREBOOT_STRATEGY=off\n$/);
    await rebootGateProvider.delete!("id", outs as RebootGateOutputs);
    expect(fs.existsSync(path.dirname(conf()))).toBe(false);
    expect(fs.readdirSync(`${dir}/var/lib`)).toEqual([]);
  });

  it("holds the reboot while a set has no install for the staged kernel, and releases it once install.sh has installed it", async () => {
    const { outs } = await rebootGateProvider.create!(inputs());
    staged(true);
    const held = await timerCheck();
    expect(held).toMatch(new RegExp(`^held since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ: reboot into ${VERSION} \\(kernel ${STAGED}\\) waits for pair$`));
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/\nREBOOT_STRATEGY=off\n$/);
    const read = await rebootGateProvider.read!("id", outs as RebootGateOutputs);
    expect(read.props.hold).toMatchObject({ state: "held", version: VERSION, kernel: STAGED, waiting: ["pair"] });
    expect(read.props.updateConfKept).toBe(true);

    await installStaged();
    expect(await timerCheck()).toBe(`released: every module set is installed for ${VERSION} (kernel ${STAGED}); the reboot is up to the reboot manager and ${conf()}`);
    // The user's own strategy and window decide the reboot now.
    expect(fs.readFileSync(conf(), "utf8")).toBe(USER_CONF);
    expect(calls().slice(-2)).toEqual(["systemctl is-enabled --quiet locksmithd.service", "systemctl restart locksmithd.service"]);
    expect((await rebootGateProvider.read!("id", outs as RebootGateOutputs)).props).toMatchObject({ updateConfKept: true, hold: { state: "released" } });

    // After the reboot into the new release nothing is staged: the gate is in front of the next update.
    staged(false);
    expect(await timerCheck()).toMatch(/^no update staged: the gate is closed/);
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/^# Written by kmod-fleet.*\nGROUP=stable\n/);
    expect(fs.readFileSync(`${gateDir()}/update.conf.user`, "utf8")).toBe(USER_CONF);
  });

  it("the hold's start is on disk: every check counts from the first one that saw the release staged", async () => {
    await rebootGateProvider.create!(inputs());
    staged(true);
    const first = await timerCheck();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await timerCheck()).toBe(first);
  });

  it("update_engine not answering changes nothing: the hold goes on from where it was", async () => {
    await rebootGateProvider.create!(inputs());
    staged(true);
    const first = await timerCheck();
    fs.writeFileSync(`${S}/status`, "");
    expect(await timerCheck()).toBe("<4>WARNING: update_engine_client -status did not answer; the gate stays as it was (held)");
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/\nREBOOT_STRATEGY=off\n$/);
    staged(true);
    expect(await timerCheck()).toBe(first);
  });

  it("an update.conf the user changed while the reboot was allowed is the one kept from then on", async () => {
    const { outs } = await rebootGateProvider.create!(inputs({ sets: [] }));
    staged(true);
    expect(await timerCheck()).toMatch(/^released/);
    fs.writeFileSync(conf(), "GROUP=beta\nREBOOT_STRATEGY=etcd-lock\n");
    staged(false);
    await timerCheck();
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/^# Written by kmod-fleet.*\nGROUP=beta\nREBOOT_STRATEGY=off\n$/);
    await rebootGateProvider.delete!("id", outs as RebootGateOutputs);
    expect(fs.readFileSync(conf(), "utf8")).toBe("GROUP=beta\nREBOOT_STRATEGY=etcd-lock\n");
  });

  it("a reboot manager the user disabled or masked is not started when the reboot is allowed", async () => {
    await rebootGateProvider.create!(inputs({ sets: [] }));
    fs.writeFileSync(`${S}/disabled-locksmithd.service`, "");
    staged(true);
    await timerCheck();
    expect(fs.readFileSync(conf(), "utf8")).toBe(USER_CONF);
    expect(calls().slice(-2)).toEqual(["systemctl is-enabled --quiet locksmithd.service", "systemctl try-restart locksmithd.service"]);
  });

  it("read reports drift: a timer that is no longer enabled, an update.conf that is no longer the gate's", async () => {
    const { outs } = await rebootGateProvider.create!(inputs());
    fs.writeFileSync(`${S}/disabled-kmod-fleet-reboot-gate.timer`, "");
    expect((await rebootGateProvider.read!("id", outs as RebootGateOutputs)).props).toMatchObject({ units: false, updateConfKept: true });
    fs.rmSync(`${S}/disabled-kmod-fleet-reboot-gate.timer`);
    fs.writeFileSync(conf(), USER_CONF);
    expect((await rebootGateProvider.read!("id", outs as RebootGateOutputs)).props).toMatchObject({ units: true, updateConfKept: false });
  });

  it("a staged kernel that cannot be read (no x86 boot header) is not held: nothing could become ready", async () => {
    await rebootGateProvider.create!(inputs());
    fs.writeFileSync(`${dir}/boot/vmlinuz-b`, "an arm64 Image\n");
    staged(true);
    expect(await timerCheck()).toBe(`<4>WARNING: the kernel of ${VERSION} cannot be read from ${dir}/boot/vmlinuz-a ${dir}/boot/vmlinuz-b, so its modules cannot be checked: the reboot is not held, and pair will be installed after it`);
    expect(fs.readFileSync(conf(), "utf8")).toBe(USER_CONF);
  });

  it("a damaged install (a file's sha256 differs from the one install.sh recorded) is not ready", async () => {
    await rebootGateProvider.create!(inputs());
    const installDir = await installStaged();
    fs.appendFileSync(`${installDir}/pair_consumer.ko`, "corrupted");
    staged(true);
    expect(await timerCheck()).toMatch(/^held since .*: reboot into .* waits for pair$/);
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/\nREBOOT_STRATEGY=off\n$/);
  });

  it("after maxRebootHold the policy proceed allows the reboot, with a warning of journal priority critical", async () => {
    await rebootGateProvider.create!(inputs({ maxRebootHoldSeconds: 1 }));
    staged(true);
    expect(await timerCheck()).toMatch(/^held since/);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await timerCheck()).toMatch(new RegExp(`^<2>WARNING: the reboot into ${VERSION} \\(kernel ${STAGED}\\) was held since \\S+ for pair, longer than maxRebootHold \\(1 s\\); policy proceed: the reboot is allowed, and pair will be missing after it$`));
    expect(fs.readFileSync(conf(), "utf8")).toBe(USER_CONF);
  });

  it("after maxRebootHold the policy hold keeps holding, warning at every check", async () => {
    await rebootGateProvider.create!(inputs({ maxRebootHoldSeconds: 1, afterMaxHold: "hold" }));
    staged(true);
    await timerCheck();
    await new Promise((r) => setTimeout(r, 2100));
    for (let i = 0; i < 2; i++) expect(await timerCheck()).toMatch(/^<4>WARNING: reboot into .* held since \S+, longer than maxRebootHold \(1 s\): waiting for pair; policy hold/);
    expect(fs.readFileSync(conf(), "utf8")).toMatch(/\nREBOOT_STRATEGY=off\n$/);
  });

  it("refuses an update.conf it could not give back as it was, changing nothing", async () => {
    fs.writeFileSync(conf(), "GROUP=stable\nSERVER=https://a.example/\\\nupdate\n");
    fs.symlinkSync(conf(), `${dir}/etc/flatcar/linked.conf`);
    await expect(rebootGateProvider.create!(inputs())).rejects.toThrow(/refusing to set up the reboot gate; nothing was changed:\n.*has a line ending in '\\'/);
    await expect(rebootGateProvider.create!(inputs({ updateConf: `${dir}/etc/flatcar/linked.conf` }))).rejects.toThrow(/linked\.conf is not a regular file \(symbolic link\)/);
    expect(fs.readFileSync(conf(), "utf8")).toBe("GROUP=stable\nSERVER=https://a.example/\\\nupdate\n");
    expect(fs.existsSync(gateDir())).toBe(false);
    expect(calls()).toEqual([]);
  });

  it("refuses a unit of the gate's name that kmod-fleet did not write, changing nothing", async () => {
    await sh("printf '[Service]\\nExecStart=/bin/true\\n' > /etc/systemd/system/kmod-fleet-reboot-gate.service");
    await expect(rebootGateProvider.create!(inputs())).rejects.toThrow(/refusing to set up the reboot gate; nothing was changed:\n\/etc\/systemd\/system\/kmod-fleet-reboot-gate\.service is there and kmod-fleet did not write it/);
    expect(fs.readFileSync(conf(), "utf8")).toBe(USER_CONF);
    expect(await sh("cat /etc/systemd/system/kmod-fleet-reboot-gate.service")).toBe("[Service]\nExecStart=/bin/true");
    expect(calls()).toEqual([]);
  });
});
