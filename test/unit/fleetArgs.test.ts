// The Fleet component's args: the same mistakes get the same messages, by path, as in the
// stack config, whether a value is plain or an Input known only later; and a machine's
// outputs, known after it is created, reach the host's connection (with the key a secret).
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { recordResources } from "./pulumiMocks";
import { ConfigError, resolveFleetConfig } from "../../config/resolve";
import { BAD_CONFIGS, KEY, minimal } from "./fixtures/badConfigs";
import { LOADS_UNSIGNED } from "./fixtures/signing";

// What the machines' resource reports once created (the mocks run as `up`, not a preview).
const MACHINES: Record<string, Record<string, unknown>> = {
  m1: { address: "10.0.0.5", port: 2222, hostKey: KEY },
  m2: { address: "10.0.0.6", port: 22, hostKey: "not a key" },
};
const registered = recordResources({ stateOf: (args) => (args.type === "test:index:Machine" ? MACHINES[args.name] : args.inputs) });

/** A machine created by another provider: address, port and host key are its outputs. */
class Machine extends pulumi.CustomResource {
  declare readonly address: pulumi.Output<string>;
  declare readonly port: pulumi.Output<number>;
  declare readonly hostKey: pulumi.Output<string>;
  constructor(name: string) {
    super("test:index:Machine", name, { address: undefined, port: undefined, hostKey: undefined });
  }
}

// Imported after setMocks, as every module that creates resources.
let fleetArgs: typeof import("../../components/fleetArgs");
let FleetClass: typeof import("../../components/fleet").Fleet;
beforeAll(async () => {
  fleetArgs = await import("../../components/fleetArgs");
  FleetClass = (await import("../../components/fleet")).Fleet;
});

const SUBJECT = 'Fleet "fleet" args';

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e: any) {
    if (e instanceof ConfigError || e?.name === "FleetArgsError") return e.problems;
    throw e;
  }
  return [];
}
const stackProblems = (raw: unknown) => problemsOf(() => resolveFleetConfig(raw));
const argsProblems = (raw: unknown, known?: Map<unknown, unknown>) => problemsOf(() => fleetArgs.resolveFleetArgs(raw as any, { subject: SUBJECT, known }));

describe("the args get the stack config's messages, by path", () => {
  for (const [what, raw, expected] of BAD_CONFIGS.filter(([, raw]) => raw !== undefined)) {
    it(what, () => {
      // The component offers two more ways to log in (the key and the password themselves), and says so.
      const withKey = (p: string) => p.replace("exactly one of privateKeyConfig,", "exactly one of privateKey, privateKeyConfig,").replace("agent or passwordConfig", "agent, password or passwordConfig");
      const problems = argsProblems(raw);
      expect(problems).toEqual(stackProblems(raw).map(withKey));
      expect(problems).toHaveLength(expected.length);
      expected.forEach((e, i) => expect(problems[i]).toContain(withKey(e)));
    });
  }

  it("the first line names the Fleet, and Pulumi shows it without a stack trace", () => {
    try {
      fleetArgs.resolveFleetArgs({ hosts: [{ name: "h1", address: "a" }, { name: "h2", address: "b", port: 0, hostKey: KEY }] }, { subject: SUBJECT });
      expect.unreachable();
    } catch (e: any) {
      expect(pulumi.RunError.isInstance(e)).toBe(true);
      expect(e.message).toMatch(/^invalid Fleet "fleet" args \(2 problems\):\n/);
      expect(e.message).toContain("\n  - hosts[1].port: Too small");
      expect(e.message).toContain("\n  - hosts[0].hostKey: required");
    }
  });

  it("a stack config is valid args, resolved the same", () => {
    const root = path.join(__dirname, "..", "..");
    const example = (yaml.load(fs.readFileSync(path.join(root, "Pulumi.example.yaml"), "utf8")) as any).config["kmod-fleet:fleet"];
    expect(fleetArgs.resolveFleetArgs(example, { subject: SUBJECT })).toEqual(resolveFleetConfig(example));
  });

  it("the key itself: not empty, one way to log in, one passphrase", () => {
    expect(argsProblems(minimal({ defaults: { auth: { privateKey: "" } } }))).toEqual(["defaults.auth.privateKey: expected the private key's text (OpenSSH or PEM)"]);
    const later = Promise.resolve("");
    expect(argsProblems(minimal({ defaults: { auth: { privateKey: later } } }), new Map([[later, ""]]))).toEqual(["defaults.auth.privateKey: expected the private key's text (OpenSSH or PEM)"]);
    expect(argsProblems(minimal({ defaults: { auth: { privateKey: pulumi.secret("k"), keyFile: "/k" } } }))).toEqual(["defaults.auth: expected exactly one of privateKey, privateKeyConfig, keyFile, agent, password or passwordConfig"]);
    expect(argsProblems(minimal({ defaults: { auth: { privateKey: "k", passphrase: pulumi.secret("p"), passphraseConfig: "pp" } } }))).toEqual(["defaults.auth: expected at most one of passphrase or passphraseConfig"]);
  });

  it("an Output where the plan needs a plain value is named", () => {
    const args = { hosts: [{ name: "h1", address: "a", hostKey: KEY, labels: Promise.resolve(["gpu"]) }], moduleSets: [{ name: pulumi.output("s"), source: { dir: "x" }, load: ["m"] }] };
    expect(argsProblems(args)).toEqual([
      "hosts[0].labels: expected a plain value, not an Output or a Promise: kmod-fleet plans the fleet's resources from it while the program runs",
      "moduleSets[0].name: expected a plain value, not an Output or a Promise: kmod-fleet plans the fleet's resources from it while the program runs",
    ]);
  });
});

describe("an Input's value is checked once it is known, with the same message", () => {
  // [what, where the Input stands, its value]: the args with the Input, and the stack config with the value.
  const cases: [string, (v: unknown) => Record<string, unknown>, unknown][] = [
    ["a port out of range", (v) => ({ hosts: [{ name: "h1", address: "10.0.0.1", port: v, hostKey: KEY }] }), 70000],
    ["a garbage host key", (v) => ({ hosts: [{ name: "h1", address: "10.0.0.1", hostKey: v }] }), "not a key"],
    ["an empty address", (v) => ({ hosts: [{ name: "h1", address: v, hostKey: KEY }] }), ""],
    ["a bad user from defaults", (v) => ({ defaults: { user: v }, hosts: [{ name: "h1", address: "10.0.0.1", hostKey: KEY }] }), "Root!"],
    ["a host key that turns out absent", (v) => ({ defaults: { hostKey: v }, hosts: [{ name: "h1", address: "10.0.0.1" }] }), undefined],
    ["a jump host's garbage key", (v) => ({ hosts: [{ name: "h1", address: "10.0.0.1", hostKey: KEY, jump: { address: "bastion", hostKey: v } }] }), "ssh-rsa"],
  ];
  for (const [what, at, value] of cases) {
    it(what, () => {
      const input = Promise.resolve(value);
      const expected = stackProblems(at(value)).map((p) => p);
      expect(expected.length).toBeGreaterThan(0);
      // Not known yet: a placeholder stands in, and the rest of the args is valid.
      expect(argsProblems(at(input))).toEqual([]);
      expect(argsProblems(at(input), new Map([[input, value]]))).toEqual(expected);
    });
  }

  it("placeholders show as such in messages", () => {
    // No host key, and the address is an Output: the advice cannot name the address yet.
    expect(argsProblems({ hosts: [{ name: "h1", address: pulumi.output("10.0.0.1") }] })).toEqual([
      "hosts[0].hostKey: required: pin the host's public SSH key (e.g. the output of `ssh-keyscan -p 22 <address>` without the host name), or set insecureIgnoreHostKey: true for this host",
    ]);
  });
});

describe("hosts from another resource's outputs (up)", () => {
  let probed: any[];
  let fleet: any;
  beforeAll(async () => {
    probed = [];
    const m1 = new Machine("m1");
    // The store's folder is an operator-side setting, which the providers read too.
    const store = (process.env.KMOD_FLEET_STORE = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-")));
    fleet = new FleetClass("fleet", {
      hosts: [{ name: "h1", address: m1.address, port: m1.port, hostKey: m1.hostKey }],
      defaults: { user: "root", auth: { privateKey: "PLAIN-PRIVATE-KEY" } },
      moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"] }],
      projectDir: path.join(__dirname, "..", ".."),
      build: { store: { path: store } },
    }, {
      probe: async (spec) => {
        probed.push(spec);
        return { kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", bootId: "b", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz", ...LOADS_UNSIGNED };
      },
      inventory: async () => ({ artifacts: {}, developerContainer: false }),
    });
    await new Promise<void>((resolve) => fleet.summary.apply(() => resolve()));
  });

  it("the probe reaches the machine at the address, port and host key it reported", () => {
    expect(probed).toHaveLength(1);
    expect(probed[0]).toMatchObject({ host: "h1", address: "10.0.0.5", port: 2222, user: "root", hostKeys: [KEY], privateKey: "PLAIN-PRIVATE-KEY" });
  });

  it("the host is planned by its facts: the build for its kernel (on it, the only host), its install and load", () => {
    const build = registered.find((r) => r.name === "build-pair-6.1.0-50-cloud-amd64-x86_64")!;
    expect(build.inputs).toMatchObject({ kernelRelease: "6.1.0-50-cloud-amd64", builder: "h1", obtain: "build on h1" });
    expect(registered.find((r) => r.name === "h1-pair-install-a")!.inputs.kernelRelease).toBe("6.1.0-50-cloud-amd64");
    expect(registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/")).map((r) => r.name).sort()).toEqual(["build-pair-6.1.0-50-cloud-amd64-x86_64", "h1-devcontainer-3975.2.0", "h1-facts", "h1-overlay", "h1-pair-install-a", "h1-pair-load", "h1-reboot-gate"]);
  });

  it("a key given as a plain string still reaches every provider as a secret", () => {
    const SECRET_SIG = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"];
    for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"))) {
      expect(r.inputs.connection[SECRET_SIG[0]], r.name).toBe(SECRET_SIG[1]);
      expect(r.inputs.connection.value.privateKey, r.name).toBe("PLAIN-PRIVATE-KEY");
    }
  });

  it("a value that turns out invalid fails that host with the stack config's message", async () => {
    const m2 = new Machine("m2");
    const planned = fleetArgs.planFleet({ hosts: [{ name: "h2", address: m2.address, hostKey: m2.hostKey }] }, { subject: SUBJECT });
    // Output's promise(): how a resource that takes the host as an input waits for it.
    const host = planned.host(0) as any;
    void host.isKnown.catch(() => {});
    void host.isSecret.catch(() => {});
    await expect(host.promise()).rejects.toThrow(/^invalid Fleet "fleet" args \(1 problem\):\n {2}- hosts\[0\]\.hostKey: expected a public key line/);
  });

  it("the message names the host's place in the args, though the host is checked alone", async () => {
    const m2 = new Machine("m2-second");
    MACHINES["m2-second"] = MACHINES.m2;
    const planned = fleetArgs.planFleet({ hosts: [{ name: "h1", address: "10.0.0.1", hostKey: KEY }, { name: "h2", address: m2.address, hostKey: m2.hostKey }] }, { subject: SUBJECT });
    const host = planned.host(1) as any;
    void host.isKnown.catch(() => {});
    void host.isSecret.catch(() => {});
    await expect(host.promise()).rejects.toThrow(/^invalid Fleet "fleet" args \(1 problem\):\n {2}- hosts\[1\]\.hostKey: expected a public key line/);
  });
});

describe("planning grows with the number of hosts, not its square", () => {
  const hosts = Array.from({ length: 50 }, (_, i) => ({ name: `h${i}`, address: `10.0.1.${i}`, hostKey: KEY }));

  it("every host of a fleet without Inputs is resolved once, with the fleet", async () => {
    const { componentSchemas } = await import("../../config/schema");
    const parse = vi.spyOn(componentSchemas.fleet, "safeParse");
    try {
      const planned = fleetArgs.planFleet({ hosts }, { subject: SUBJECT });
      const resolved = await Promise.all(hosts.map((_, i) => (planned.host(i) as any).promise()));
      expect(resolved.map((h) => h.address)).toEqual(hosts.map((h) => h.address));
      // The fleet's validation itself, once (it was once per host, each of the whole fleet).
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("a host with Inputs of its own is checked again alone once their values are known, not with the whole fleet", async () => {
    const { componentSchemas } = await import("../../config/schema");
    const parse = vi.spyOn(componentSchemas.fleet, "safeParse");
    try {
      const own = hosts.map((h) => ({ ...h, address: pulumi.output(h.address) }));
      const planned = fleetArgs.planFleet({ hosts: own }, { subject: SUBJECT });
      const resolved = await Promise.all(own.map((_, i) => (planned.host(i) as any).promise()));
      expect(resolved.map((h) => h.address)).toEqual(hosts.map((h) => h.address));
      // The fleet once, then each host with its values: one host per check.
      expect(parse.mock.calls.map(([raw]) => (raw as { hosts: unknown[] }).hosts.length)).toEqual([hosts.length, ...hosts.map(() => 1)]);
    } finally {
      parse.mockRestore();
    }
  });

  it("with an Input in the defaults, the fleet is resolved once more for every host together", async () => {
    const { componentSchemas } = await import("../../config/schema");
    const parse = vi.spyOn(componentSchemas.fleet, "safeParse");
    try {
      const planned = fleetArgs.planFleet({ hosts, defaults: { user: pulumi.output("ops") } }, { subject: SUBJECT });
      const resolved = await Promise.all(hosts.map((_, i) => (planned.host(i) as any).promise()));
      expect(resolved.every((h) => h.user === "ops")).toBe(true);
      expect(parse).toHaveBeenCalledTimes(2);
    } finally {
      parse.mockRestore();
    }
  });
});

// Last: the Fleet it makes registers resources the tests above count.
describe("a connection in @pulumi/command's shape", () => {
  const resolve = (host: Record<string, unknown>) => fleetArgs.resolveFleetArgs({ hosts: [{ name: "h1", ...host }] }, { subject: SUBJECT }).hosts[0];

  it("each of its fields lands on kmod-fleet's own, the jump host (proxy) too", () => {
    const h = resolve({ host: "10.0.0.7", port: 2222, user: "core", privateKey: "K", privateKeyPassword: "P", hostKey: KEY, dialErrorLimit: 5, perDialTimeout: 7, proxy: { host: "bastion.example", user: "jump", password: "J", hostKey: KEY } });
    expect(h).toMatchObject({ address: "10.0.0.7", port: 2222, user: "core", auth: { privateKey: "K", passphrase: "P" }, hostKeys: [KEY], connectAttempts: 5, connectTimeoutSeconds: 7 });
    expect(h.jump).toMatchObject({ address: "bastion.example", user: "jump", auth: { password: "J" }, hostKeys: [KEY] });
  });

  it("the union-free forms: an agent socket path, agent false, insecureIgnoreHostKey false, several keys on separate lines", () => {
    expect(resolve({ address: "a", hostKey: KEY, auth: { agentSocketPath: "/run/agent.sock" } }).auth).toEqual({ agent: "/run/agent.sock" });
    expect(resolve({ address: "a", hostKey: KEY, agentSocketPath: "/run/agent.sock" }).auth).toEqual({ agent: "/run/agent.sock" });
    expect(resolve({ address: "a", hostKey: KEY, insecureIgnoreHostKey: false, auth: { agent: false, keyFile: "/k" } })).toMatchObject({ hostKeys: [KEY], auth: { keyFile: "/k" } });
    const other = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ";
    expect(resolve({ address: "a", hostKey: `${KEY}\n${other}\n` }).hostKeys).toEqual([KEY, other]);
  });

  it("a field given in both shapes is named, with the one to keep", () => {
    expect(argsProblems({ hosts: [{ name: "h1", address: "a", host: "b", hostKey: KEY, privateKey: "K", auth: { privateKey: "L" } }] })).toEqual([
      "hosts[0].host: the same as address; give one of them",
      "hosts[0].privateKey: the same as auth.privateKey; give one of them",
    ]);
  });

  it("a machine's connection output, spread into a host, reaches the probe", async () => {
    const m1 = new Machine("m1");
    const connection = { host: m1.address, port: m1.port, user: "root", password: pulumi.secret("pw"), hostKey: m1.hostKey };
    const spec = await new Promise<any>((resolve) => {
      new FleetClass("cmd-shape", { hosts: [{ name: "c1", ...connection }], projectDir: path.join(__dirname, "..", "..") }, { probe: async (s) => resolve(s) as never, inventory: async () => ({ artifacts: {}, developerContainer: false }) });
    });
    expect(spec).toMatchObject({ host: "c1", address: "10.0.0.5", port: 2222, user: "root", hostKeys: [KEY], password: "pw" });
  });
});
