import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { resolveFleetConfig } from "../../config/resolve";

const root = path.join(__dirname, "..", "..");
const example = (yaml.load(fs.readFileSync(path.join(root, "Pulumi.example.yaml"), "utf8")) as any).config["kmod-fleet:fleet"];

import { BAD_CONFIGS, KEY, minimal, problemsOf } from "./fixtures/badConfigs";

describe("the example stack config", () => {
  it("validates, with every default filled in", () => {
    const fleet = resolveFleetConfig(example, { dirExists: (d) => fs.existsSync(path.join(root, d)) || d.startsWith("dev/testbed/") });
    expect(fleet.hosts.map((h) => h.name)).toEqual(["node-1", "node-2"]);
    expect(fleet.hosts[0]).toMatchObject({ user: "core", port: 22, auth: { privateKeyConfig: "sshPrivateKey" }, connectAttempts: 3, labels: ["gpu"] });
    expect(fleet.hosts[1].jump).toMatchObject({ address: "203.0.113.5", user: "admin", port: 22 });
    expect(fleet.profile.base).toBe("flatcar");
    expect(fleet.profile.updateConfFiles).toEqual(["/usr/share/flatcar/update.conf", "/etc/flatcar/update.conf"]);
    expect(fleet.storage).toMatchObject({ modulesRoot: "/opt/modules", modulesWorkDir: "/opt/modules.wd", persistence: "mount-unit" });
    expect(fleet.moduleSets[0]).toMatchObject({ name: "kmod-pair", hosts: ["node-1", "node-2"], parameters: { pair_consumer: "greeting=hello" } });
    expect(fleet.moduleSets[1]).toMatchObject({ source: { kind: "inTree", options: ["DUMMY"], directories: ["drivers/net"] }, hosts: ["node-1"] });
    expect(fleet.build).toEqual({ builders: ["gpu"], storePath: ".kmod-fleet/artifacts" });
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
  it("any host may build, and artifacts are kept under the project, unless said otherwise", () => {
    expect(resolveFleetConfig(minimal()).build).toEqual({ builders: [], storePath: ".kmod-fleet/artifacts" });
    expect(resolveFleetConfig(minimal({ build: { builders: ["h1"], store: { path: "/srv/artifacts" } } })).build).toEqual({ builders: ["h1"], storePath: "/srv/artifacts" });
  });
  it("kernel config sources may use ${KERNEL}", () => {
    expect(resolveFleetConfig(minimal({ kernelConfigSources: ["/boot/config-${KERNEL}"] })).kernelConfigSources).toEqual(["/boot/config-${KERNEL}"]);
  });
  it("in-tree options are accepted with or without CONFIG_ and =m", () => {
    const fleet = resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["CONFIG_DRM_I915=m", "DRM"], directories: ["drivers/gpu/drm"] } }, load: ["i915"] }] }));
    expect(fleet.moduleSets[0].source).toEqual({ kind: "inTree", options: ["DRM_I915", "DRM"], directories: ["drivers/gpu/drm"] });
  });

  it("an in-tree set may name only its options: the directories are derived at build time", () => {
    const fleet = resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["SND_DUMMY"] } }, load: ["snd_dummy"] }] }));
    expect(fleet.moduleSets[0].source).toEqual({ kind: "inTree", options: ["SND_DUMMY"], directories: [] });
  });

  it("an in-tree option may be kept off with =n (a preflight's 'Would work' variant)", () => {
    const fleet = resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { inTree: { options: ["CAN_PEAK_PCI", "CONFIG_CAN_PEAK_PCIEC=n"], directories: ["drivers/net/can/sja1000"] } }, load: ["peak_pci"] }] }));
    expect(fleet.moduleSets[0].source).toEqual({ kind: "inTree", options: ["CAN_PEAK_PCI", "CAN_PEAK_PCIEC=n"], directories: ["drivers/net/can/sja1000"] });
  });
});

describe("module names, parameters and folders", () => {
  it("parameters reach modprobe and /etc/modprobe.d under the name load gives the module ('-' and '_' are the same)", () => {
    const fleet = resolveFleetConfig(minimal({ moduleSets: [{ name: "s", source: { dir: "x" }, load: ["a_b", "c-d"], parameters: { "a-b": { p: 1 }, c_d: { q: true } } }] }));
    expect(fleet.moduleSets[0].parameters).toEqual({ a_b: "p=1", "c-d": "q=1" });
  });
  it("a folder whose name starts like the modules dir's is not inside it", () => {
    expect(resolveFleetConfig(minimal({ storage: { modulesRoot: "/usr/lib/modules-extra" } })).storage.modulesRoot).toBe("/usr/lib/modules-extra");
    expect(resolveFleetConfig(minimal({ storage: { cacheDir: "/opt/modules-cache", workDir: "/opt/modulesx" } })).storage).toMatchObject({ cacheDir: "/opt/modules-cache", workDir: "/opt/modulesx" });
  });
  it("the bounds themselves are accepted", () => {
    const fleet = resolveFleetConfig(minimal({ defaults: { buildTimeoutSeconds: 86400, commandTimeoutSeconds: 21600 }, moduleSets: [{ name: "s", source: { dir: "x" }, load: ["m"], parameters: { m: { p: "x".repeat(1024) } } }] }));
    expect(fleet.hosts[0]).toMatchObject({ buildTimeoutSeconds: 86400, commandTimeoutSeconds: 21600 });
  });
});

describe("bad config is rejected with one message per mistake, by path", () => {
  for (const [what, raw, expected] of BAD_CONFIGS) {
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
