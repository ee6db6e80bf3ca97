// The reboot gate in a fleet's plan: a host with module sets gets one, for its own sets, with
// the fleet's hold settings and the profile's update.conf; a host without sets gets none;
// and the preview (and up, and the stack's summary) says which host holds a staged update,
// since when and for which set.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { RebootHold } from "../../components/providers/rebootGate/rebootHold";
import { recordResources } from "./pulumiMocks";
import { KEY } from "./fixtures/badConfigs";
import { LOADS_UNSIGNED } from "./fixtures/signing";

const registered = recordResources();
const warnings: string[] = [];
let store: string;
let gated: any;
const HOLD: RebootHold = { state: "held", version: "3975.2.1", kernel: "6.6.60-flatcar", since: "2026-12-06T04:00:00Z", waiting: ["pair"] };

beforeAll(async () => {
  vi.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => void warnings.push(message));
  store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  process.env.KMOD_FLEET_STORE = store;
  const { Fleet } = await import("../../components/fleet");
  const facts = { arch: "x86_64", bootId: "b", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz", kernelRelease: "6.1.0-50-cloud-amd64", ...LOADS_UNSIGNED };
  const fleet = (name: string, hosts: string[], updates?: object) =>
    new Fleet(name, {
      hosts: hosts.map((h, i) => ({ name: h, address: "127.0.0.1", port: 2200 + i, hostKey: KEY })),
      defaults: { user: "root", auth: { privateKey: pulumi.secret("a private key") } },
      moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"], hosts: { names: [hosts[0]] } }],
      build: { store: { path: store } },
      ...(updates ? { updates } : {}),
      projectDir: path.join(__dirname, "..", ".."),
    }, {
      probe: async (spec) => ({ ...facts, ...(spec.host === "h1" ? { rebootHold: HOLD } : {}) }),
      inventory: async () => ({ artifacts: {}, developerContainer: false }),
    });
  gated = fleet("fleet", ["h1", "h2"], { maxRebootHold: "2h", afterMaxHold: "hold" });
  fleet("ungated", ["g1"], { gate: false });
  await vi.waitFor(() => expect(registered.filter((r) => r.name.endsWith("-pair-load")).length).toBe(2), { timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 200));
}, 60_000);

afterAll(() => {
  delete process.env.KMOD_FLEET_STORE;
  fs.rmSync(store, { recursive: true, force: true });
});

const named = (name: string) => registered.find((r) => r.name === name);

describe("the reboot gate in the plan", () => {
  it("a host with module sets gets a gate for its sets, with the fleet's hold settings and the profile's update.conf", () => {
    expect(named("h1-reboot-gate")?.inputs).toMatchObject({
      sets: ["pair"], modulesDir: "/usr/lib/modules", kernelImages: ["/boot/flatcar/vmlinuz-a", "/boot/flatcar/vmlinuz-b"], updateConf: "/etc/flatcar/update.conf",
      gateDir: "/var/lib/kmod-fleet/reboot-gate", maxRebootHoldSeconds: 7200, afterMaxHold: "hold",
    });
  });

  it("a host without module sets, and a fleet with updates.gate false, get none", () => {
    expect(named("h2-reboot-gate")).toBeUndefined();
    expect(named("g1-overlay")).toBeDefined();
    expect(named("g1-reboot-gate")).toBeUndefined();
  });

  it("the preview says which host holds its reboot, since when, for which release, kernel and set", () => {
    expect(warnings).toContain("h1: reboot into 3975.2.1 (kernel 6.6.60-flatcar) held since 2026-12-06T04:00:00Z: waiting for pair");
    expect(named("h1-facts")?.inputs.rebootHold).toEqual(HOLD);
  });

  it("the stack's summary of the host says it too; a host with nothing held says nothing", async () => {
    const summary = await new Promise<any>((resolve) => gated.summary.apply(resolve));
    expect(summary.h1.rebootHold).toBe("h1: reboot into 3975.2.1 (kernel 6.6.60-flatcar) held since 2026-12-06T04:00:00Z: waiting for pair");
    expect("rebootHold" in summary.h2).toBe(false);
  });
});
