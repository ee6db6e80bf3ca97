// The demo's per-host summary of a preview (demo/plan.ts) on a trimmed `preview --json`.
import { describe, expect, it } from "vitest";
import { planByHost } from "../../demo/plan";

const P = "urn:pulumi:demo::kmod-fleet::";
const host = (h: string) => `${P}kmod-fleet:index:Fleet$kmod-fleet:index:Host::${h}`;
const build = (name: string, op: string, inputs: Record<string, unknown> = {}) => ({
  op,
  urn: `${P}kmod-fleet:index:Fleet$pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild::${name}`,
  newState: { type: "pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild", parent: `${P}kmod-fleet:index:Fleet::fleet`, inputs },
});
const res = (h: string, type: string, name: string, op: string, inputs: Record<string, unknown> = {}) => ({
  op,
  urn: `${P}kmod-fleet:index:Fleet$kmod-fleet:index:Host$pulumi-nodejs:dynamic/kmod-fleet:${type}::${name}`,
  newState: { type: `pulumi-nodejs:dynamic/kmod-fleet:${type}`, parent: host(h), inputs },
});

describe("planByHost", () => {
  it("says which builds run where, per host what will be created, and which hosts stay as they are", () => {
    const steps = [
      { op: "create", urn: `${P}pulumi:pulumi:Stack::kmod-fleet-demo` },
      { op: "same", urn: host("h2"), newState: { type: "kmod-fleet:index:Host" } },
      { op: "create", urn: host("h1"), newState: { type: "kmod-fleet:index:Host" } },
      res("h1", "HostFacts", "h1-facts", "create"),
      res("h1", "ModulesOverlay", "h1-overlay", "create"),
      res("h1", "DeveloperContainer", "h1-devcontainer", "create", { osVersion: "3975.2.0" }),
      build("build-pair-6.1.0-50-cloud-amd64-x86_64", "create", { set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", builder: "h1", obtain: "build on h1", connection: "[secret]" }),
      res("h1", "ModuleInstall", "h1-pair-install", "create", { set: "pair", builder: "h1" }),
      res("h1", "ModuleLoad", "h1-pair-load", "create", { modules: ["pair_provider", "pair_consumer"] }),
      res("h2", "HostFacts", "h2-facts", "same"),
      res("h2", "ModuleInstall", "h2-pair-install", "same", { set: "pair", builder: "h1" }),
    ];
    expect(planByHost({ steps })).toEqual([
      "builds:",
      "  + build pair for 6.1.0-50-cloud-amd64 on h1",
      "h1:",
      "  + facts",
      "  + modules overlay",
      "  + developer container 3975.2.0",
      "  + install pair (built on h1)",
      "  + load pair_provider pair_consumer",
      "h2: no changes",
    ]);
  });

  it("names replacements and updates, e.g. after a kernel update", () => {
    const steps = [
      build("build-pair-6.1.0-56-cloud-amd64-x86_64", "create", { set: "pair", kernelRelease: "6.1.0-56-cloud-amd64", builder: "h2", obtain: "build on h2" }),
      res("h2", "HostFacts", "h2-facts", "update"),
      res("h2", "ModuleInstall", "h2-pair-install-a", "replace", { set: "pair", kernelRelease: "6.1.0-56-cloud-amd64", builder: "h2" }),
      res("h2", "ModuleInstall", "h2-pair-install-a", "create-replacement", { set: "pair", kernelRelease: "6.1.0-56-cloud-amd64", builder: "h2" }),
    ];
    expect(planByHost({ steps })).toEqual(["builds:", "  + build pair for 6.1.0-56-cloud-amd64 on h2", "h2:", "  ~ facts", "  +- install pair for 6.1.0-56-cloud-amd64 (built on h2)"]);
  });

  it("an update staged for the next boot: the build for its kernel, and an install for it beside the running one", () => {
    const steps = [
      build("build-pair-6.1.0-57-cloud-amd64-x86_64", "create", { set: "pair", kernelRelease: "6.1.0-57-cloud-amd64", builder: "h2", obtain: "build on h2" }),
      res("h2", "HostFacts", "h2-facts", "update"),
      res("h2", "DeveloperContainer", "h2-devcontainer-3975.2.1", "create", { osVersion: "3975.2.1" }),
      res("h2", "ModuleInstall", "h2-pair-install-a", "same", { set: "pair", kernelRelease: "6.1.0-56-cloud-amd64", builder: "h1" }),
      res("h2", "ModuleInstall", "h2-pair-install-b", "create", { set: "pair", kernelRelease: "6.1.0-57-cloud-amd64", builder: "h2" }),
    ];
    expect(planByHost({ steps })).toEqual([
      "builds:",
      "  + build pair for 6.1.0-57-cloud-amd64 on h2",
      "h2:",
      "  ~ facts",
      "  + developer container 3975.2.1",
      "  + install pair for 6.1.0-57-cloud-amd64 (built on h2)",
    ]);
  });

  it("lists a host's resources in the order they apply, whatever order the engine's steps come in", () => {
    const gate = res("h2", "RebootGate", "h2-reboot-gate", "create", { sets: ["pair"] });
    const install = res("h2", "ModuleInstall", "h2-pair-install-a", "create", { set: "pair", builder: "h1" });
    const load = res("h2", "ModuleLoad", "h2-pair-load", "create", { modules: ["pair_provider"] });
    const facts = res("h2", "HostFacts", "h2-facts", "create");
    const expected = ["h2:", "  + facts", "  + reboot gate for pair", "  + install pair (built on h1)", "  + load pair_provider"];
    expect(planByHost({ steps: [facts, gate, install, load] })).toEqual(expected);
    expect(planByHost({ steps: [load, install, facts, gate] })).toEqual(expected);
  });

  it("says when an artifact missing from the store is taken back from a host, not built", () => {
    const steps = [build("build-pair-k1-x86_64", "update", { set: "pair", kernelRelease: "k1", builder: "h1", obtain: "take back from h2" }), { op: "same", urn: host("h1"), newState: { type: "kmod-fleet:index:Host" } }];
    expect(planByHost({ steps })).toEqual(["builds:", "  ~ pair for k1: take back from h2 into the artifact store", "h1: no changes"]);
  });

  it("says when a value is not known yet (preview --json shows Pulumi's unknown marker)", () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const steps = [
      res("h1", "DeveloperContainer", "h1-devcontainer", "create", { osVersion: unknown }),
      build("build-tiny", "create", { set: "tiny", kernelRelease: unknown }),
    ];
    expect(planByHost({ steps })).toEqual(["builds:", "  + build tiny for (kernel not known yet)", "h1:", "  + developer container (OS version not known yet)"]);
  });
});
