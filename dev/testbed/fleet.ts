// The test fleet: QEMU guests (TCG) booted from the cached host image, one qcow2 overlay
// and one seed disk per host, each kept alive by host-loop.sh, plus the release server.
// State lives in <cache>/run; `down` removes it.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { isAlive, run, runOk, sleep } from "./exec";
import { ensureImages, missingPrerequisites } from "./images";
import { guestStall } from "./guestStall";
import { kernelOfVersion, readChannel, startChannel } from "./channel";
import { BOARD, GROUP, SOURCES_COMMAND, TESTBED_DIR, TestKernel, cacheDir, testKernels } from "./recipe";
import { channelUrlTemplates, devContainerUrlTemplate } from "./releaseServer";
import { ensureSigningKey } from "./signingKey";
import { fleetSchema } from "../../config/schema";

export interface FleetHost {
  name: string;
  sshPort: number;
  dir: string;
  hostKey: string;
}

export interface FleetState {
  hosts: FleetHost[];
  imageDir: string;
  releaseServer: { pid: number; port: number };
  startedAt: string;
  /** The kernels the images were built with, installed first (the apt index may move on while the fleet runs). */
  kernels: TestKernel[];
}

export interface HostStatus {
  name: string;
  sshPort: number;
  user: string;
  keyPath: string;
  hostKey: string;
  state: "up" | "unreachable" | "stopped";
  kernelRelease: string | null;
  osVersion: string | null;
  bootId: string | null;
  /** Kernel staged by update-kernel, booted at the next reboot. */
  pendingKernel: string | null;
}

export interface UpOptions {
  hosts?: number;
  memoryMb?: number;
  cpus?: number;
  /** Seconds to wait for SSH on every host. */
  timeoutSeconds?: number;
}

const USER = "root";
const sshPortBase = () => Number(process.env.TESTBED_SSH_PORT_BASE ?? 22101);
const releasePort = () => Number(process.env.TESTBED_RELEASE_PORT ?? 22180);
const log = (msg: string) => process.stderr.write(`testbed: ${msg}\n`);

export const runDir = () => path.join(cacheDir(), "run");
const stateFile = () => path.join(runDir(), "fleet.json");
export const keyPath = () => path.join(cacheDir(), "keys", "fleet_ed25519");
export const knownHostsPath = () => path.join(runDir(), "known_hosts");
export const releaseModeFile = () => path.join(runDir(), "release-modes.json");
export const releaseLogFile = () => path.join(runDir(), "release-requests.log");
/** The release channel's current version (testbed/channel.ts). */
export const channelFile = () => path.join(runDir(), "channel.json");

export function readState(): FleetState | undefined {
  return fs.existsSync(stateFile()) ? (JSON.parse(fs.readFileSync(stateFile(), "utf8")) as FleetState) : undefined;
}

export function requireState(): FleetState {
  const s = readState();
  if (!s) throw new Error("the test fleet is not up; run `npm run testbed -- up` first");
  return s;
}

export function findHost(name: string): FleetHost {
  const s = requireState();
  const h = s.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host "${name}" in the running fleet (hosts: ${s.hosts.map((x) => x.name).join(", ")})`);
  return h;
}

async function ensureFleetKey(): Promise<string> {
  const k = keyPath();
  if (!fs.existsSync(k)) {
    fs.mkdirSync(path.dirname(k), { recursive: true });
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kmod-fleet-testbed", "-f", k]);
  }
  return k;
}

/** A host keeps its SSH host key across `down`/`up`, so pinned keys stay valid. */
async function ensureHostKey(name: string): Promise<string> {
  const k = path.join(cacheDir(), "keys", "hosts", name, "ssh_host_ed25519_key");
  if (!fs.existsSync(k)) {
    fs.mkdirSync(path.dirname(k), { recursive: true });
    await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `root@${name}`, "-f", k]);
  }
  return k;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** OpenSSH client arguments that pin the host key from the fleet's known_hosts. */
export function sshArgs(host: FleetHost, extra: string[] = []): string[] {
  return [
    "-i", keyPath(), "-p", String(host.sshPort),
    "-o", `UserKnownHostsFile=${knownHostsPath()}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
    "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6", "-o", "LogLevel=ERROR",
    ...extra, `${USER}@127.0.0.1`,
  ];
}

/** Runs a command on a host and captures its output. */
export async function sshCapture(host: FleetHost, command: string, timeoutMs = 60_000) {
  return run("ssh", [...sshArgs(host), command], { timeoutMs });
}

const serialLog = (host: FleetHost) => path.join(host.dir, "serial.log");

/** The host's serial console since the fleet came up ("" before QEMU wrote to it). */
function serialConsole(host: FleetHost): string {
  return fs.existsSync(serialLog(host)) ? fs.readFileSync(serialLog(host), "utf8") : "";
}

function serialTail(host: FleetHost, lines = 40): string {
  if (!fs.existsSync(serialLog(host))) return "(no serial console log)";
  return serialConsole(host).split("\n").slice(-lines).join("\n");
}

function readPid(file: string): number | undefined {
  if (!fs.existsSync(file)) return undefined;
  const n = Number(fs.readFileSync(file, "utf8").trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

// How long a guest that reported a stall may stay silent on SSH before it is power-cycled.
const STALL_SILENCE_MS = 90_000;

/** Ends the host's QEMU (its disk closed cleanly unless it ignores SIGTERM); host-loop.sh boots it again. */
async function powerCycle(host: FleetHost): Promise<void> {
  await stopPid(readPid(path.join(host.dir, "qemu.pid")), `qemu of ${host.name}`);
}

/**
 * Waits until SSH on the host answers (and, if given, reports a boot id other than
 * `notBootId`). A guest whose kernel reports a stalled CPU and that stays silent is
 * power-cycled once, with a line saying so, and waited for again.
 */
async function waitForSsh(host: FleetHost, timeoutSeconds: number, notBootId?: string): Promise<string> {
  let deadline = Date.now() + timeoutSeconds * 1000;
  let lastAnswer = Date.now();
  let powerCycled = false;
  for (;;) {
    const failed = path.join(host.dir, "failed");
    if (fs.existsSync(failed)) {
      throw new Error(`${host.name}: ${fs.readFileSync(failed, "utf8").trim()}; last lines of its serial console (${serialLog(host)}):\n${serialTail(host)}`);
    }
    const r = await sshCapture(host, "cat /proc/sys/kernel/random/boot_id", 20_000);
    const bootId = r.stdout.trim();
    if (r.code === 0 && bootId && bootId !== notBootId) return bootId;
    if (r.code === 0) lastAnswer = Date.now();
    const stall = !powerCycled && Date.now() - lastAnswer > STALL_SILENCE_MS ? guestStall(serialConsole(host)) : null;
    if (stall) {
      log(`${host.name}: its kernel reports "${stall}" and SSH has been silent for ${((Date.now() - lastAnswer) / 1000).toFixed(0)} s: an emulator stall; power-cycling it once`);
      await powerCycle(host);
      powerCycled = true;
      lastAnswer = Date.now();
      deadline = Date.now() + timeoutSeconds * 1000;
    } else if (Date.now() > deadline) {
      throw new Error(`${host.name}: SSH on 127.0.0.1:${host.sshPort} did not answer within ${timeoutSeconds} s${powerCycled ? " after a power cycle (its kernel had reported a stalled CPU)" : ""} (last ssh error: ${r.stderr.trim() || "none"}); last lines of its serial console (${serialLog(host)}):\n${serialTail(host)}`);
    }
    await sleep(2000);
  }
}

function startDetached(cmd: string, args: string[], logFile: string): number {
  const out = fs.openSync(logFile, "a");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", out, out] });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

async function startReleaseServerProcess(releaseRoot: string): Promise<{ pid: number; port: number }> {
  const port = releasePort();
  if (!(await portFree(port))) throw new Error(`port ${port} on 127.0.0.1 is taken; stop what uses it or set TESTBED_RELEASE_PORT`);
  const pid = startDetached(process.execPath, ["--import", "tsx", path.join(TESTBED_DIR, "cli.ts"), "release-server", "serve", "--root", releaseRoot, "--port", String(port), "--channel", channelFile()], path.join(runDir(), "release-server.log"));
  fs.writeFileSync(path.join(runDir(), "release-server.pid"), `${pid}\n`);
  const deadline = Date.now() + 30_000;
  while (await portFree(port)) {
    if (!isAlive(pid) || Date.now() > deadline) {
      throw new Error(`the release server did not start; its log (${path.join(runDir(), "release-server.log")}):\n${fs.readFileSync(path.join(runDir(), "release-server.log"), "utf8").slice(-2000)}`);
    }
    await sleep(200);
  }
  return { pid, port };
}

async function makeSeed(dir: string, name: string, hostKeyFile: string): Promise<void> {
  const seed = path.join(dir, "seed");
  fs.mkdirSync(seed, { recursive: true });
  fs.writeFileSync(path.join(seed, "hostname"), `${name}\n`);
  fs.copyFileSync(hostKeyFile, path.join(seed, "ssh_host_ed25519_key"));
  fs.copyFileSync(`${hostKeyFile}.pub`, path.join(seed, "ssh_host_ed25519_key.pub"));
  fs.copyFileSync(`${keyPath()}.pub`, path.join(seed, "authorized_keys"));
  // The release server is the hosts' update server (a private one, as users of Nebraska have).
  fs.writeFileSync(path.join(seed, "update.conf"), `SERVER=http://10.0.2.2:${releasePort()}/\nREBOOT_STRATEGY=off\n`);
  await runOk("mkfs.ext4", ["-q", "-F", "-L", "tbseed", "-d", seed, path.join(dir, "seed.img"), "4M"]);
  fs.rmSync(seed, { recursive: true, force: true });
}

/** Builds what is missing, boots the hosts in parallel and waits for SSH on each. */
export async function up(opts: UpOptions = {}): Promise<FleetState> {
  const n = opts.hosts ?? 2;
  if (!Number.isInteger(n) || n < 1 || n > 8) throw new Error(`--hosts must be a whole number from 1 to 8, got ${opts.hosts}`);
  const existing = readState();
  if (existing) {
    if (existing.hosts.length === n && existing.hosts.every((h) => isAlive(readPid(path.join(h.dir, "loop.pid")) ?? -1))) {
      log(`fleet already up (${n} hosts)`);
      return existing;
    }
    throw new Error(`a fleet of ${existing.hosts.length} hosts is already set up; run \`npm run testbed -- down\` first`);
  }
  const t0 = Date.now();
  const images = await ensureImages();
  const tImages = Date.now();
  await ensureFleetKey();
  fs.rmSync(runDir(), { recursive: true, force: true });
  fs.mkdirSync(runDir(), { recursive: true });
  const hosts: FleetHost[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `h${i}`;
    const sshPort = sshPortBase() + i - 1;
    if (!(await portFree(sshPort))) throw new Error(`port ${sshPort} on 127.0.0.1 is taken (SSH of ${name}); stop what uses it or set TESTBED_SSH_PORT_BASE`);
    const dir = path.join(runDir(), "hosts", name);
    fs.mkdirSync(dir, { recursive: true });
    const hostKeyFile = await ensureHostKey(name);
    await makeSeed(dir, name, hostKeyFile);
    await runOk("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", path.join(images.hostDir, "base.qcow2"), path.join(dir, "disk.qcow2")]);
    fs.writeFileSync(path.join(dir, "kernel"), `${testKernels()[0].release}\n`);
    const hostKey = fs.readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    hosts.push({ name, sshPort, dir, hostKey });
  }
  fs.writeFileSync(knownHostsPath(), hosts.map((h) => `[127.0.0.1]:${h.sshPort} ${h.hostKey}\n`).join(""));
  startChannel(channelFile(), GROUP, BOARD, testKernels()[0]);
  const releaseServer = await startReleaseServerProcess(images.releaseRoot);
  const state: FleetState = { hosts, imageDir: images.hostDir, releaseServer, startedAt: new Date().toISOString(), kernels: testKernels() };
  fs.writeFileSync(stateFile(), JSON.stringify(state, null, 2) + "\n");
  for (const h of hosts) {
    const pid = startDetached("bash", [path.join(TESTBED_DIR, "host-loop.sh"), h.dir, images.hostDir, String(h.sshPort), String(opts.memoryMb ?? 1024), String(opts.cpus ?? 2)], path.join(h.dir, "loop.log"));
    fs.writeFileSync(path.join(h.dir, "loop.pid"), `${pid}\n`);
  }
  log(`booting ${hosts.map((h) => `${h.name} (ssh 127.0.0.1:${h.sshPort})`).join(", ")}; release server on 127.0.0.1:${releaseServer.port}`);
  const tBoot = Date.now();
  await Promise.all(hosts.map((h) => waitForSsh(h, opts.timeoutSeconds ?? 300)));
  const tUp = Date.now();
  const timings = { imagesSeconds: (tImages - t0) / 1000, bootSeconds: (tUp - tBoot) / 1000, totalSeconds: (tUp - t0) / 1000 };
  fs.writeFileSync(path.join(runDir(), "up-timings.json"), JSON.stringify(timings) + "\n");
  log(`fleet up in ${timings.totalSeconds.toFixed(0)} s (images ${timings.imagesSeconds.toFixed(0)} s, boot ${timings.bootSeconds.toFixed(0)} s)`);
  return state;
}

async function stopPid(pid: number | undefined, what: string, graceMs = 15_000): Promise<void> {
  if (!pid || !isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    log(`${what} (pid ${pid}) ignored SIGTERM; killing it`);
    process.kill(pid, "SIGKILL");
  }
}

/** Stops every QEMU, host loop and the release server this fleet started, and removes its state. */
export async function down(): Promise<void> {
  const hostsRoot = path.join(runDir(), "hosts");
  const dirs = fs.existsSync(hostsRoot) ? fs.readdirSync(hostsRoot).map((d) => path.join(hostsRoot, d)) : [];
  for (const d of dirs) fs.writeFileSync(path.join(d, "stop"), "");
  await Promise.all(
    dirs.map(async (d) => {
      const loopPid = readPid(path.join(d, "loop.pid"));
      await stopPid(readPid(path.join(d, "qemu.pid")), `qemu of ${path.basename(d)}`);
      await stopPid(loopPid, `host loop of ${path.basename(d)}`, 5_000);
    }),
  );
  await stopPid(readPid(path.join(runDir(), "release-server.pid")), "release server");
  fs.rmSync(hostsRoot, { recursive: true, force: true });
  fs.rmSync(stateFile(), { force: true });
  fs.rmSync(path.join(runDir(), "release-server.pid"), { force: true });
  log("fleet down");
}

export async function status(): Promise<HostStatus[]> {
  const s = readState();
  if (!s) return [];
  return Promise.all(
    s.hosts.map(async (h): Promise<HostStatus> => {
      const pendingFile = path.join(h.dir, "pending");
      const base = {
        name: h.name, sshPort: h.sshPort, user: USER, keyPath: keyPath(), hostKey: h.hostKey,
        pendingKernel: fs.existsSync(pendingFile) ? fs.readFileSync(pendingFile, "utf8").trim() : null,
      };
      if (!isAlive(readPid(path.join(h.dir, "loop.pid")) ?? -1)) {
        return { ...base, state: "stopped", kernelRelease: null, osVersion: null, bootId: null };
      }
      const r = await sshCapture(h, ". /usr/share/flatcar/release; uname -r; cat /proc/sys/kernel/random/boot_id; echo \"$FLATCAR_RELEASE_VERSION\"", 30_000);
      const [kernelRelease, bootId, osVersion] = r.stdout.trim().split("\n");
      if (r.code !== 0 || !bootId) return { ...base, state: "unreachable", kernelRelease: null, osVersion: null, bootId: null };
      return { ...base, state: "up", kernelRelease, osVersion, bootId };
    }),
  );
}

/** Reboots a host (through systemd inside it) and waits until it is back with a new boot id. */
export async function reboot(name: string, timeoutSeconds = 300): Promise<{ bootId: string; seconds: number }> {
  const h = findHost(name);
  const t0 = Date.now();
  const before = await sshCapture(h, "cat /proc/sys/kernel/random/boot_id", 30_000);
  const oldBootId = before.stdout.trim();
  const qemuPid = readPid(path.join(h.dir, "qemu.pid"));
  await sshCapture(h, "nohup systemctl reboot >/dev/null 2>&1 &", 20_000);
  // The guest's reboot ends QEMU (-no-reboot); host-loop.sh starts it again.
  const deadline = Date.now() + 120_000;
  while (qemuPid && isAlive(qemuPid) && Date.now() < deadline) await sleep(500);
  if (qemuPid && isAlive(qemuPid)) {
    log(`${name} did not reboot within 120 s; resetting it`);
    process.kill(qemuPid, "SIGKILL");
  }
  const bootId = await waitForSsh(h, timeoutSeconds, oldBootId || undefined);
  return { bootId, seconds: (Date.now() - t0) / 1000 };
}

/**
 * Stages the next newer test kernel (with its OS version) until the next reboot: its image
 * in the passive slot of the ESP, its release's /usr on the passive "partition", and what
 * update_engine_client -status reports.
 */
export async function updateKernel(name: string, opts: { reboot?: boolean } = {}): Promise<{ from: string; to: string; osVersion: string; reboot?: { bootId: string; seconds: number } }> {
  const h = findHost(name);
  const current = fs.readFileSync(path.join(h.dir, "kernel"), "utf8").trim();
  const pendingFile = path.join(h.dir, "pending");
  const pending = fs.existsSync(pendingFile) ? fs.readFileSync(pendingFile, "utf8").trim() : undefined;
  const kernels = requireState().kernels;
  const i = kernels.findIndex((k) => k.release === (pending ?? current));
  const next = kernels[i + 1];
  if (!next) throw new Error(`${name} already has the newest test kernel (${pending ?? current}) ${pending ? "staged" : "running"}`);
  fs.writeFileSync(pendingFile, `${next.release}\n`);
  // What Flatcar's update_engine_client -status says once an update is written to the
  // passive partition: the new OS version, never its kernel (Flatcar has no such field).
  const statusText = `LAST_CHECKED_TIME=${Math.floor(Date.now() / 1000)}\\nPROGRESS=0.0\\nCURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT\\nNEW_VERSION=${next.osVersion}\\nNEW_SIZE=0\\n`;
  // Like Flatcar's postinstall: the new kernel goes to the slot the host does not boot.
  const writeKernel = [
    "set -e",
    `cur=/usr/lib/testbed/payloads/vmlinuz-${current}`,
    `next=/usr/lib/testbed/payloads/vmlinuz-${next.release}`,
    "if cmp -s \"$cur\" /boot/flatcar/vmlinuz-a; then passive=/boot/flatcar/vmlinuz-b; else passive=/boot/flatcar/vmlinuz-a; fi",
    "cp \"$next\" \"$passive.tmp\" && mv \"$passive.tmp\" \"$passive\"",
  ].join("\n");
  const r = await sshCapture(h, `${writeKernel}\nmkdir -p /var/lib/testbed && printf '${statusText}' > /var/lib/testbed/update-status`);
  if (r.code !== 0) throw new Error(`${name}: could not record the staged update in the guest: ${r.stderr.trim()}`);
  const result = { from: current, to: next.release, osVersion: next.osVersion };
  if (opts.reboot) return { ...result, reboot: await reboot(name) };
  return result;
}

function readHostFile(h: FleetHost, file: string): string | undefined {
  const p = path.join(h.dir, file);
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8").trim() : undefined;
}

/**
 * update_engine on the host checks the channel and stages the release it publishes, if that
 * is not the one the host runs or has staged. The test fleet's boot loader (host-loop.sh)
 * is told first, so that whenever the host's reboot manager reboots, the staged release
 * boots. Returns what the host's update_engine reports afterwards.
 */
export async function updateFromChannel(name: string): Promise<{ staged: boolean; version: string; kernelRelease: string; message: string }> {
  const h = findHost(name);
  const channel = readChannel(channelFile());
  if (!channel) throw new Error("the test fleet has no release channel: run `npm run testbed -- up` again");
  const published = kernelOfVersion(requireState().kernels, channel.version);
  const running = readHostFile(h, "kernel");
  const pendingBefore = readHostFile(h, "pending");
  const pendingFile = path.join(h.dir, "pending");
  if (published.release !== running) fs.writeFileSync(pendingFile, `${published.release}\n`);
  const r = await sshCapture(h, "update_engine_client -check_for_update && update_engine_client -status", 120_000);
  const status = Object.fromEntries(r.stdout.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  const staged = status.CURRENT_OP === "UPDATE_STATUS_UPDATED_NEED_REBOOT";
  if (r.code !== 0 || (staged && status.NEW_VERSION !== published.osVersion) || (!staged && published.release !== running)) {
    // Nothing (else) was staged: the boot loader boots what it booted before.
    if (pendingBefore) fs.writeFileSync(pendingFile, `${pendingBefore}\n`);
    else fs.rmSync(pendingFile, { force: true });
    throw new Error(`${name}: update_engine did not stage ${channel.version} (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  }
  return { staged, version: staged ? status.NEW_VERSION : channel.version, kernelRelease: published.release, message: r.stdout.split("\n").find((l) => l.startsWith("update_engine:")) ?? "" };
}

/**
 * Flatcar's manual rollback: the next boot uses the other partition, and the host reboots
 * into it. A staged update is dropped (its slot is the one being booted).
 */
export async function rollback(name: string): Promise<{ from: string; to: string; bootId: string; seconds: number }> {
  const h = findHost(name);
  const previous = readHostFile(h, "previous");
  const current = readHostFile(h, "kernel") ?? "";
  if (!previous) throw new Error(`${name} has no other release to roll back to: it has run only ${current}`);
  fs.writeFileSync(path.join(h.dir, "pending"), `${previous}\n`);
  const r = await sshCapture(h, "rm -f /var/lib/testbed/update-status", 30_000);
  if (r.code !== 0) throw new Error(`${name}: could not drop the staged update: ${r.stderr.trim()}`);
  const rebooted = await reboot(name);
  return { from: current, to: previous, ...rebooted };
}

/** Waits until a host answers SSH with another boot id than `bootId` (it rebooted by itself). */
export async function waitForNewBoot(name: string, bootId: string, timeoutSeconds = 300): Promise<string> {
  return waitForSsh(findHost(name), timeoutSeconds, bootId);
}

/** The value of the Pulumi config key kmod-fleet:fleet for the running fleet. */
export async function stackConfig(): Promise<Record<string, unknown>> {
  const s = requireState();
  const key = await ensureSigningKey(path.join(cacheDir(), "keys", "gnupg"));
  const value = {
    defaults: { user: USER, auth: { keyFile: keyPath() } },
    hosts: s.hosts.map((h) => ({ name: h.name, address: "127.0.0.1", port: h.sshPort, hostKey: h.hostKey, labels: ["testbed"] })),
    profile: {
      base: "flatcar",
      devContainerUrl: devContainerUrlTemplate(`http://10.0.2.2:${s.releaseServer.port}`),
      // Read by the program (updates.buildAhead), which runs here: loopback.
      ...channelUrlTemplates(`http://127.0.0.1:${s.releaseServer.port}`),
      signingKey: key.publicKeyArmored,
      signingKeyFingerprint: key.fingerprint,
      sourcesCommand: SOURCES_COMMAND,
    },
    kernelConfigSources: ["/boot/config-${KERNEL}"],
  };
  // Checked against the project's schema, so a schema change shows up here first.
  const parsed = fleetSchema.safeParse(value);
  if (!parsed.success) throw new Error(`the testbed's stack config does not match config/schema.ts: ${parsed.error.message}`);
  return value;
}

export { missingPrerequisites, GROUP, BOARD };
