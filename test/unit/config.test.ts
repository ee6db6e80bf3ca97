import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ConfigError, resolveFleetConfig } from "../../config/resolve";

const root = path.join(__dirname, "..", "..");
const example = (yaml.load(fs.readFileSync(path.join(root, "Pulumi.example.yaml"), "utf8")) as any).config["kmod-fleet:fleet"];

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a";
const minimal = (over: Record<string, unknown> = {}) => ({ hosts: [{ name: "h1", address: "10.0.0.1", hostKey: KEY }], ...over });

function problemsOf(raw: unknown): string[] {
  try {
    resolveFleetConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected the config to be rejected");
}

describe("the example stack config", () => {
  it("validates, with every default filled in", () => {
    const fleet = resolveFleetConfig(example, { dirExists: (d) => fs.existsSync(path.join(root, d)) || d.startsWith("testbed/") });
    expect(fleet.hosts.map((h) => h.name)).toEqual(["node-1", "node-2"]);
    expect(fleet.hosts[0]).toMatchObject({ user: "core", port: 22, auth: { privateKeyConfig: "sshPrivateKey" }, connectAttempts: 3, labels: ["gpu"] });
    expect(fleet.hosts[1].jump).toMatchObject({ address: "203.0.113.5", user: "admin", port: 22 });
    expect(fleet.profile.base).toBe("flatcar");
    expect(fleet.profile.updateConfFiles).toEqual(["/usr/share/flatcar/update.conf", "/etc/flatcar/update.conf"]);
    expect(fleet.storage).toMatchObject({ modulesRoot: "/opt/modules", modulesWorkDir: "/opt/modules.wd", persistence: "mount-unit" });
    expect(fleet.moduleSets[0]).toMatchObject({ name: "kmod-pair", hosts: ["node-1", "node-2"], parameters: { pair_consumer: "greeting=hello" } });
    expect(fleet.moduleSets[1]).toMatchObject({ source: { kind: "inTree", options: ["DUMMY"], directories: ["drivers/net"] }, hosts: ["node-1"] });
  });
});

describe("defaults and profiles", () => {
  it("a host's own field wins over defaults", () => {
    const fleet = resolveFleetConfig({ defaults: { user: "root", port: 2222 }, hosts: [{ name: "a", address: "x", hostKey: KEY, port: 22 }] });
    expect(fleet.hosts[0]).toMatchObject({ user: "root", port: 22 });
  });
  it("coreos is the seed's recipe", () => {
    const fleet = resolveFleetConfig(minimal({ profile: { base: "coreos" } }));
    expect(fleet.profile.releaseFiles).toEqual(["/usr/share/coreos/release"]);
    expect(fleet.profile.devContainerUrl).toContain("release.core-os.net");
    expect(fleet.profile.signingKeyFingerprint).toBe("04127D0BFABEC8871FFB2CCE50E0885593D2DCB4");
  });
  it("every profile field can be overridden", () => {
    const fleet = resolveFleetConfig(minimal({ profile: { devContainerUrl: "http://10.0.2.2:8080/${GROUP}/${BOARD}/${VERSION}/dev.bin.bz2", sourcesCommand: "kmod-fleet-sources" } }));
    expect(fleet.profile).toMatchObject({ base: "flatcar", sourcesCommand: "kmod-fleet-sources", versionVariable: "FLATCAR_RELEASE_VERSION" });
  });
  it("an explicit insecureIgnoreHostKey turns verification off for that host only", () => {
    const fleet = resolveFleetConfig({ hosts: [{ name: "a", address: "x", insecureIgnoreHostKey: true }, { name: "b", address: "y", hostKey: KEY }] });
    expect(fleet.hosts.map((h) => h.hostKeys)).toEqual(["insecure", [KEY]]);
  });
  it("a host's own insecureIgnoreHostKey wins over defaults.hostKey, and a host's hostKey over defaults.insecureIgnoreHostKey", () => {
    const fleet = resolveFleetConfig({ defaults: { hostKey: KEY }, hosts: [{ name: "a", address: "x", insecureIgnoreHostKey: true }, { name: "b", address: "y" }] });
    expect(fleet.hosts.map((h) => h.hostKeys)).toEqual(["insecure", [KEY]]);
    const other = resolveFleetConfig({ defaults: { insecureIgnoreHostKey: true }, hosts: [{ name: "a", address: "x", hostKey: KEY }, { name: "b", address: "y" }] });
    expect(other.hosts.map((h) => h.hostKeys)).toEqual([[KEY], "insecure"]);
  });
  it("two sets may share a module name when no host gets both", () => {
    const fleet = resolveFleetConfig({ hosts: [{ name: "a", address: "x", hostKey: KEY }, { name: "b", address: "y", hostKey: KEY }], moduleSets: [{ name: "s1", source: { dir: "x" }, load: ["m"], hosts: { names: ["a"] } }, { name: "s2", source: { dir: "y" }, load: ["m"], hosts: { names: ["b"] } }] });
    expect(fleet.moduleSets.map((s) => s.hosts)).toEqual([["a"], ["b"]]);
  });
  it("kernel config sources may use ${KERNEL}", () => {
    expect(resolveFleetConfig(minimal({ kernelConfigSources: ["/boot/config-${KERNEL}"] })).kernelConfigSources).toEqual(["/boot/config-${KERNEL}"]);
  });
  it("in-tree options are accepted with or without CONFIG_ and =m", () => {
    const fleet = resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["CONFIG_DRM_I915=m", "DRM"], directories: ["drivers/gpu/drm"] } }, load: ["i915"] }] }));
    expect(fleet.moduleSets[0].source).toEqual({ kind: "inTree", options: ["DRM_I915", "DRM"], directories: ["drivers/gpu/drm"] });
  });
  it("an in-tree option may be kept off with =n (a preflight's 'Would work' variant)", () => {
    const fleet = resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["CAN_PEAK_PCI", "CONFIG_CAN_PEAK_PCIEC=n"], directories: ["drivers/net/can/sja1000"] } }, load: ["peak_pci"] }] }));
    expect(fleet.moduleSets[0].source).toEqual({ kind: "inTree", options: ["CAN_PEAK_PCI", "CAN_PEAK_PCIEC=n"], directories: ["drivers/net/can/sja1000"] });
  });
});

describe("bad config is rejected with one message per mistake, by path", () => {
  const cases: [string, unknown, string[]][] = [
    ["no config at all", undefined, ["kmod-fleet:fleet: missing"]],
    ["no hosts", { hosts: [] }, ["hosts: expected at least one host"]],
    ["host key missing", { hosts: [{ name: "h1", address: "a" }, { name: "h2", address: "b" }, { name: "h3", address: "c" }] }, ["hosts[0].hostKey: required", "hosts[1].hostKey: required", "hosts[2].hostKey: required"]],
    ["bad port and name", { hosts: [{ name: "Web_1", address: "a", port: 70000, hostKey: KEY }] }, ["hosts[0].name: expected a host name", "hosts[0].port: Too big"]],
    ["unknown field", minimal({ hostz: [] }), ['(top level): Unrecognized key: "hostz"']],
    ["two auth methods", minimal({ defaults: { auth: { keyFile: "/k", agent: true } } }), ["defaults.auth: expected exactly one of privateKeyConfig, keyFile or agent"]],
    ["garbage host key", { hosts: [{ name: "h", address: "a", hostKey: "not a key" }] }, ["hosts[0].hostKey: expected a public key line"]],
    ["key and insecure together", { hosts: [{ name: "h", address: "a", hostKey: KEY, insecureIgnoreHostKey: true }] }, ["hosts[0].insecureIgnoreHostKey: cannot be set together with hostKey"]],
    ["duplicate host", { hosts: [{ name: "h", address: "a", hostKey: KEY }, { name: "h", address: "b", hostKey: KEY }] }, ['hosts[1].name: "h" is already used by hosts[0]']],
    ["set with two sources", minimal({ moduleSets: [{ name: "s", source: { dir: "x", git: { url: "u", ref: "v1.0" } }, load: ["m"] }] }), ["moduleSets[0].source: expected exactly one of dir, git or inTree"]],
    ["built-in option asked for", minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["HDMI=y"], directories: ["drivers/video"] } }, load: ["m"] }] }), ["moduleSets[0].source.inTree.options[0]: expected a kernel option to build as a module"]],
    ["module path instead of name", minimal({ moduleSets: [{ name: "s", source: { dir: "x" }, load: ["i915/i915.ko"] }] }), ["moduleSets[0].load[0]: expected a module name"]],
    ["unknown host and label", minimal({ moduleSets: [{ name: "s", source: { dir: "x" }, load: ["m"], hosts: { names: ["nope"], labels: ["gpu"] } }] }), ['moduleSets[0].hosts.names[0]: no host is named "nope"', 'moduleSets[0].hosts.labels[0]: no host has the label "gpu"']],
    ["upper dir inside the modules dir", minimal({ storage: { modulesRoot: "/usr/lib/modules/extra" } }), ["storage.modulesRoot: /usr/lib/modules/extra is inside /usr/lib/modules"]],
    ["jump host without a key", minimal({ defaults: { jump: { address: "bastion" } } }), ["hosts[0].jump.hostKey: required"]],
    // Values that become arguments on the host never start with '-'.
    ["a module name that reads as an option", minimal({ moduleSets: [{ name: "s", source: { dir: "x" }, load: ["-r"] }] }), ["moduleSets[0].load[0]: must not start with '-'"]],
    ["an in-tree directory that reads as an option", minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["DUMMY"], directories: ["-delete"] } }, load: ["m"] }] }), ["moduleSets[0].source.inTree.directories[0]: must not start with '-'"]],
    ["a git URL that reads as an option", minimal({ moduleSets: [{ name: "s", source: { git: { url: "--upload-pack=x", ref: "v1.0" } }, load: ["m"] }] }), ["moduleSets[0].source.git.url: must not start with '-'"]],
    ["an in-tree directory outside the tree", minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["DUMMY"], directories: ["drivers/../../etc", "drivers/*"] } }, load: ["m"] }] }), ["directories[0]: expected a directory inside the kernel tree", "directories[1]: expected a directory inside the kernel tree"]],
    ["a parameter value that would start a new modprobe.d line", minimal({ moduleSets: [{ name: "s", source: { dir: "x" }, load: ["m"], parameters: { m: { p: "1\ninstall m /bin/sh" } } }] }), ["moduleSets[0].parameters.m.p: expected a value without spaces"]],
    // Paths are absolute and plain: no glob, no whitespace, no '..'.
    ["a glob in modulesRoot", minimal({ storage: { modulesRoot: "/opt/mod*" } }), ["storage.modulesRoot: expected an absolute path of plain characters"]],
    ["a comma in modulesRoot (it would add overlay mount options)", minimal({ storage: { modulesRoot: "/opt/modules,lowerdir=/etc" } }), ["storage.modulesRoot: expected an absolute path of plain characters"]],
    ["'..' in workDir, a space in cacheDir, a relative modulesDir", minimal({ storage: { workDir: "/var/lib/../../etc", cacheDir: "/var/cache/kmod fleet" }, profile: { modulesDir: "usr/lib/modules" } }), ["profile.modulesDir: expected an absolute path", "storage.cacheDir: expected an absolute path", "storage.workDir: expected an absolute path"]],
    ["a line break in a kernel config source", minimal({ kernelConfigSources: ["/boot/config-${KERNEL}\n/etc/shadow"] }), ["kernelConfigSources[0]: expected an absolute path"]],
    ["a signature URL that is not a URL", minimal({ profile: { signatureUrl: "-K/etc/passwd ${URL}" } }), ["profile.signatureUrl: expected an http(s) URL"]],
    // Every problem at once: the schema's and the semantic checks' together.
    ["schema and semantic problems together", { hosts: [{ name: "h1", address: "a", port: 70000 }, { name: "h1", address: "b", hostKey: KEY }] }, ["hosts[0].port: Too big", "hosts[0].hostKey: required", 'hosts[1].name: "h1" is already used by hosts[0]']],
    ["a bad set next to an unknown host name", minimal({ moduleSets: [{ name: "s", source: { dir: "x" }, load: ["-r"], hosts: { names: ["nope"] } }] }), ["moduleSets[0].load[0]: must not start with '-'", 'moduleSets[0].hosts.names[0]: no host is named "nope"']],
    // Two sets that build a module of the same name on one host.
    ["two sets build the same module", minimal({ moduleSets: [{ name: "a", source: { dir: "x" }, load: ["e1000e"] }, { name: "b", source: { dir: "y" }, load: ["foo", "e1000e"] }] }), ['moduleSets[1].load[1]: module "e1000e" is also built by moduleSets[0] ("a") on h1']],
    ["dash and underscore are the same module name", minimal({ moduleSets: [{ name: "a", source: { dir: "x" }, load: ["pair-provider"] }, { name: "b", source: { dir: "y" }, load: ["pair_provider"] }] }), ['moduleSets[1].load[0]: module "pair_provider" is also built by moduleSets[0]']],
  ];
  for (const [what, raw, expected] of cases) {
    it(what, () => {
      const problems = problemsOf(raw);
      expect(problems).toHaveLength(expected.length);
      expected.forEach((e, i) => expect(problems[i]).toContain(e));
    });
  }

  it("a missing local source folder is named", () => {
    expect(() => resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { dir: "nowhere" }, load: ["m"] }] }), { dirExists: () => false })).toThrow(/moduleSets\[0\]\.source\.dir: folder nowhere does not exist/);
  });

  it("the error message lists every problem on its own line", () => {
    try {
      resolveFleetConfig({ hosts: [{ name: "h1", address: "a" }, { name: "h2", address: "b", port: 0, hostKey: KEY }] });
      expect.unreachable();
    } catch (e: any) {
      expect(e.message).toMatch(/^invalid kmod-fleet:fleet config \(2 problems\)/);
      expect(e.message).toContain("  - hosts[1].port: Too small");
      expect(e.message).toContain("  - hosts[0].hostKey: required");
    }
  });
});
