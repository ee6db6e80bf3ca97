// The program itself (index.ts, the Fleet and its plan) through the real Pulumi CLI, with no
// VM: two "hosts" are sshd instances on loopback, each in a private mount namespace with its
// own modules dir, overlay, /etc files and /sys/module, and stubbed modprobe, modinfo, depmod
// and systemctl (test/scale/simulatedFleet.ts). The artifact store holds the build already, so
// nothing compiles and no developer container is needed: what this proves is the engine's side of shared builds
// (resources planned from the probed facts, what preview shows, installs from the store,
// drift repaired from the artifact, a lost store refilled from a host, destroy).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { KERNEL, type SimulatedHost } from "../scale/simulatedFleet";
import { runScript } from "../../host/ssh/session";
import type { Stack } from "../../dev/toolchain/stack";
import { planByHost } from "../../demo/plan";
import { closedPort, startSimulatedStack, type SimulatedStack } from "./simulatedStack";

// Private to each namespace (a tmpfs), so both hosts use the fleet's one set of paths.
const R = "/tmp/kmod-fleet-program-test";
const BUILD = `build-kmod-pair-${KERNEL.toLowerCase()}-x86_64`;

let fleet: SimulatedStack;
let hosts: Record<string, SimulatedHost>;
let store: string;
let stack: Stack;
let sums: string;
let fleetConfig: Record<string, any>;

/** How often the summary at the end of a CLI run (its Diagnostics) says this. */
const countAtEnd = (text: string, what: string) => text.slice(text.lastIndexOf("Diagnostics:")).split(what).length - 1;

const on = async (h: string, cmd: string) => (await runScript(hosts[h].spec, cmd, { timeoutSeconds: 30 })).stdout.trim();
const installed = (h: string) => on(h, `cd ${R}/modules/${KERNEL}/extra/kmod-pair 2>/dev/null && sha256sum *.ko; true`);
const loaded = (h: string) => on(h, "ls /sys/module");

beforeAll(async () => {
  fleet = await startSimulatedStack("program-test", R, ["h1", "h2"]);
  ({ hosts, stack, store, sums, fleetConfig } = fleet);
}, 300_000);

afterAll(async () => {
  await fleet?.stop();
}, 120_000);

describe("the program with the real engine, builds shared through the store", () => {
  it("preview: the build is in the store, each host gets an install and a load, no developer container", () => {
    const r = stack.cli(["preview", "--json"]);
    expect(planByHost(JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))))).toEqual([
      "builds:",
      `  + kmod-pair for ${KERNEL}: in the artifact store`,
      "h1:",
      "  + facts",
      "  + modules overlay",
      "  + reboot gate for kmod-pair",
      `  + install kmod-pair for ${KERNEL} (built on h1)`,
      "  + load pair_provider pair_consumer",
      "h2:",
      "  + facts",
      "  + modules overlay",
      "  + reboot gate for kmod-pair",
      `  + install kmod-pair for ${KERNEL} (built on h1)`,
      "  + load pair_provider pair_consumer",
    ]);
  });

  it("up installs the same files on both hosts and loads them; nothing compiles, no image, no work folder but the reboot gate's", async () => {
    const r = stack.up();
    expect(r.output).not.toMatch(/building kmod-pair|fetching the developer container|DeveloperContainer/);
    for (const h of ["h1", "h2"]) {
      expect(await installed(h)).toBe(sums);
      expect(await loaded(h)).toBe("pair_consumer\npair_provider");
      expect(await on(h, `ls -d ${R}/cache 2>/dev/null; ls -A ${R}/work 2>/dev/null; true`)).toBe("reboot-gate");
    }
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("a deleted .ko on h2 is h2's drift alone, repaired from the artifact", async () => {
    await on("h2", `rm ${R}/modules/${KERNEL}/extra/kmod-pair/pair_consumer.ko`);
    expect(stack.preview(["--refresh"]).changes.map((c) => c.name).sort()).toEqual(["h2-kmod-pair-install-a", "h2-kmod-pair-load"]);
    const r = stack.up(["--refresh"]);
    expect(r.output).toMatch(/h2: installing kmod-pair/);
    expect(r.output).not.toMatch(/h1: installing kmod-pair/);
    expect(await installed("h2")).toBe(sums);
  });

  it("a host that cannot be probed: preview and up exit non-zero and name it once, at the end; the other hosts' work is done", async () => {
    const port = await closedPort();
    const h3 = { name: "h3", address: "127.0.0.1", port, insecureIgnoreHostKey: true, auth: { keyFile: `${hosts.h1.sshd.dir}/client` }, connectAttempts: 1, connectTimeoutSeconds: 2 };
    stack.setFleet({ ...fleetConfig, hosts: [...fleetConfig.hosts, h3] });
    const reason = `cannot reach root@127.0.0.1:${port} after 1 attempt(s)`;
    await on("h2", `rm ${R}/modules/${KERNEL}/extra/kmod-pair/pair_consumer.ko`);

    const p = stack.cli(["preview", "--refresh"], { allowFail: true });
    expect(p.code).not.toBe(0);
    expect(countAtEnd(p.output, reason)).toBe(1);
    expect(p.output).toMatch(/resource 'h3-facts' has a problem: could not be probed, so nothing of it changed in this run/);
    // The other hosts' plan is shown in full (h2's repair); nothing of h3 but its failing facts.
    expect(p.output).toMatch(/h2-kmod-pair-install-a/);
    expect(p.output).not.toMatch(/h3-(overlay|kmod-pair)/);

    // h3's facts wait for every other host's steps, then fail: h2 is repaired first.
    const r = stack.up(["--refresh"], { allowFail: true });
    expect(r.code).not.toBe(0);
    expect(countAtEnd(r.output, reason)).toBe(1);
    expect(r.output).toMatch(/h2: installing kmod-pair/);
    expect(await installed("h2")).toBe(sums);

    // Allowed: a warning, and the commands succeed.
    stack.setFleet({ ...fleetConfig, hosts: [...fleetConfig.hosts, h3], allowUnreachableHosts: true });
    const allowed = stack.cli(["preview"]);
    expect(countAtEnd(allowed.output, reason)).toBe(1);
    expect(allowed.output).toMatch(/warning: h3: could not be probed, so nothing of it changes in this run/);

    // h3 leaves the config: only its (empty) host component was recorded.
    stack.setFleet(fleetConfig);
    expect(stack.preview().changes.map((c) => [c.name, c.op])).toEqual([["h3", "delete"]]);
    stack.up();
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("a lost store: the preview shows only the build, taken back from h1; up refills the store", async () => {
    fs.rmSync(store, { recursive: true, force: true });
    const p = stack.preview();
    expect(p.changes.map((c) => [c.name, c.op])).toEqual([[BUILD, "update"]]);
    expect(p.result.output).toContain(`kmod-pair for ${KERNEL} (x86_64): not in the artifact store`);
    expect(p.result.output).toContain("it will be taken back from h1, where it is installed");
    const r = stack.up();
    expect(r.output).toMatch(/h1: taking kmod-pair for \S+ back into the artifact store/);
    expect(fs.readdirSync(path.join(store, "artifacts")).filter((f) => f.endsWith(".json"))).toHaveLength(1);
    expect(stack.preview(["--refresh"]).changes).toEqual([]);
  });

  it("destroy removes the installs and the store entry the build wrote", async () => {
    stack.cli(["destroy", "--yes", "--skip-preview"]);
    for (const h of ["h1", "h2"]) {
      expect(await installed(h)).toBe("");
      expect(await loaded(h)).toBe("");
    }
    expect(fs.readdirSync(path.join(store, "artifacts"))).toEqual([]);
  });
});
