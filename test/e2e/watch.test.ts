// `kmod-fleet watch` as a user runs it (the CLI, in the project folder, with the Pulumi CLI on
// the PATH and the backend and passphrase in the environment) against one simulated fleet
// (real sshd hosts on loopback, each in its own mount namespace; no VM): a fresh fleet is
// converged by round 1 and round 2 runs no up; drift is seen and repaired with --refresh; a
// host that cannot be reached is logged as such while the others converge; a bad --stack
// stops it with one line; SIGTERM ends it with status 0.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "child_process";
import * as net from "net";
import * as path from "path";
import { KERNEL } from "../scale/simulatedFleet";
import { runScript } from "../../host/ssh/session";
import { repoRoot } from "../../dev/toolchain/env";
import { closedPort, startSimulatedStack, type SimulatedStack } from "./simulatedStack";

// Private to each namespace (a tmpfs), so every host uses the fleet's one set of paths.
const R = "/tmp/kmod-fleet-watch-test";
const STACK = "watch-test";

let fleet: SimulatedStack;
/** The running watcher's process (the last one started). */
let watcherPid: number | undefined;

interface WatchRun {
  code: number | null;
  /** Every stdout line, parsed: the per-host lines and the summaries. */
  lines: Record<string, any>[];
  stderr: string;
}

/** Runs `kmod-fleet watch` to its end; `onLine` sees each JSON line as it comes, with the process. */
function watch(args: string[], onLine?: (l: Record<string, any>, kill: (signal: NodeJS.Signals) => void) => void): Promise<WatchRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, "bin", "kmod-fleet"), ["watch", ...args], { cwd: repoRoot, env: fleet.stack.env, stdio: ["ignore", "pipe", "pipe"] });
    watcherPid = child.pid;
    const run: WatchRun = { code: null, lines: [], stderr: "" };
    let pending = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      pending += text;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const l = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        run.lines.push(l);
        onLine?.(l, (s) => child.kill(s));
      }
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => (run.stderr += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ ...run, code });
    });
  });
}

const summaries = (r: WatchRun) => r.lines.filter((l) => l.hosts);
const hostLines = (r: WatchRun, round: number) => Object.fromEntries(r.lines.filter((l) => l.round === round && l.host).map((l) => [l.host, l]));

const on = async (h: string, cmd: string) => (await runScript(fleet.hosts[h].spec, cmd, { timeoutSeconds: 30 })).stdout.trim();
const installed = (h: string) => on(h, `cd ${R}/modules/${KERNEL}/extra/kmod-pair 2>/dev/null && sha256sum *.ko; true`);
const loaded = (h: string) => on(h, "ls /sys/module");

beforeAll(async () => {
  fleet = await startSimulatedStack(STACK, R, ["h1", "h2"]);
}, 300_000);

afterAll(async () => {
  await fleet?.stop();
}, 120_000);

describe("kmod-fleet watch on a simulated fleet", () => {
  it("round 1 on a fresh fleet runs up and converges it; round 2 has nothing to do and runs no up", async () => {
    const r = await watch(["--stack", STACK, "--interval", "1", "--rounds", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(summaries(r).map((s) => [s.round, s.action, s.outcome])).toEqual([
      [1, "up", "ok"],
      [2, "none", "ok"],
    ]);
    expect(summaries(r)[0].hosts).toEqual({ ok: 2, failed: 0, unreachable: 0 });
    for (const h of ["h1", "h2"]) {
      // facts, overlay, reboot gate, install and load on each host (and its component).
      expect(hostLines(r, 1)[h]).toMatchObject({ action: "up", outcome: "ok", changes: { create: 6 } });
      expect(hostLines(r, 2)[h]).toMatchObject({ action: "none", outcome: "ok", changes: {} });
      expect(await installed(h)).toBe(fleet.sums);
      expect(await loaded(h)).toBe("pair_consumer\npair_provider");
    }
    expect(summaries(r)[1].changes).toEqual({});
  });

  it("a deleted module on h2: unseen without --refresh, repaired on h2 alone with --refresh (--once)", async () => {
    await on("h2", `rm ${R}/modules/${KERNEL}/extra/kmod-pair/pair_consumer.ko`);
    const plain = await watch(["--stack", STACK, "--once"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(summaries(plain).map((s) => s.action)).toEqual(["none"]);

    const r = await watch(["--stack", STACK, "--once", "--refresh"]);
    expect(r.code, r.stderr).toBe(0);
    expect(summaries(r).map((s) => [s.round, s.action, s.outcome])).toEqual([[1, "up", "ok"]]);
    expect(hostLines(r, 1).h1).toMatchObject({ outcome: "ok", changes: {} });
    expect(hostLines(r, 1).h2).toMatchObject({ outcome: "ok", changes: { update: 2 } });
    expect(await installed("h2")).toBe(fleet.sums);
  });

  it("a host on a closed port is logged unreachable while h2's drift is repaired, and the watcher exits 0", async () => {
    const port = await closedPort();
    const h3 = { name: "h3", address: "127.0.0.1", port, insecureIgnoreHostKey: true, auth: { keyFile: `${fleet.hosts.h1.sshd.dir}/client` }, connectAttempts: 1, connectTimeoutSeconds: 2 };
    fleet.stack.setFleet({ ...fleet.fleetConfig, hosts: [...fleet.fleetConfig.hosts, h3] });
    await on("h2", `rm ${R}/modules/${KERNEL}/extra/kmod-pair/pair_consumer.ko`);
    try {
      const r = await watch(["--stack", STACK, "--once", "--refresh"]);
      expect(r.code, r.stderr).toBe(0);
      const hosts = hostLines(r, 1);
      expect(hosts.h3).toMatchObject({ action: "up", outcome: "unreachable" });
      expect(hosts.h3.message).toContain(`cannot reach root@127.0.0.1:${port}`);
      expect(hosts.h2).toMatchObject({ outcome: "ok", changes: { update: 2 } });
      expect(hosts.h1).toMatchObject({ outcome: "ok" });
      expect(summaries(r)[0]).toMatchObject({ action: "up", outcome: "failed", hosts: { ok: 2, failed: 0, unreachable: 1 } });
      expect(await installed("h2")).toBe(fleet.sums);
      // No secret in the log: the stack's SSH key secret never reaches a line.
      expect(JSON.stringify(r.lines)).not.toMatch(/unused: every host has a keyFile|PRIVATE KEY/);
    } finally {
      fleet.stack.setFleet(fleet.fleetConfig);
    }
  });

  it("SIGTERM while it waits for the next round: it exits 0 at once", async () => {
    const started = Date.now();
    const r = await watch(["--stack", STACK, "--interval", "600"], (l, kill) => l.hosts && kill("SIGTERM"));
    expect(r.code, r.stderr).toBe(0);
    expect(summaries(r)).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(120_000);
  });

  it("SIGTERM while a preview waits for a silent host: Pulumi cancels it, the round is logged cancelled, status 0", async () => {
    // Accepts the connection and never says a word: the probe waits up to its 60 s timeout.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const h4 = { name: "h4", address: "127.0.0.1", port, insecureIgnoreHostKey: true, auth: { keyFile: `${fleet.hosts.h1.sshd.dir}/client` }, connectAttempts: 1, connectTimeoutSeconds: 60 };
    fleet.stack.setFleet({ ...fleet.fleetConfig, hosts: [...fleet.fleetConfig.hosts, h4] });
    try {
      const started = Date.now();
      const running = watch(["--stack", STACK, "--interval", "600"]);
      await new Promise((r) => setTimeout(r, 10_000));
      process.kill(watcherPid!, "SIGTERM");
      const r = await running;
      expect(r.code, r.stderr).toBe(0);
      expect(summaries(r).map((s) => [s.round, s.outcome])).toEqual([[1, "cancelled"]]);
      expect(Date.now() - started).toBeLessThan(50_000);
    } finally {
      silent.close();
      fleet.stack.setFleet(fleet.fleetConfig);
    }
  });

  it("a stack that does not exist: status 1 and one line that names it, nothing on stdout", async () => {
    const r = await watch(["--stack", "no-such-stack", "--once"]);
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([]);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^kmod-fleet watch: no stack named 'no-such-stack' in the project at /)]);
  });
});
