// The demo's per-host summary of a preview (demo/plan.ts) on a trimmed `preview --json`.
import { describe, expect, it } from "vitest";
import { planByHost } from "../../demo/plan";

const P = "urn:pulumi:demo::kmod-fleet::";
const host = (h: string) => `${P}kmod-fleet:index:Fleet$kmod-fleet:index:Host::${h}`;
const res = (h: string, type: string, name: string, op: string, inputs: Record<string, unknown> = {}) => ({
  op,
  urn: `${P}kmod-fleet:index:Fleet$kmod-fleet:index:Host$pulumi-nodejs:dynamic/kmod-fleet:${type}::${name}`,
  newState: { type: `pulumi-nodejs:dynamic/kmod-fleet:${type}`, parent: host(h), inputs },
});

describe("planByHost", () => {
  it("says per host what will be created, and which hosts stay as they are", () => {
    const steps = [
      { op: "create", urn: `${P}pulumi:pulumi:Stack::kmod-fleet-demo` },
      { op: "same", urn: host("h2"), newState: { type: "kmod-fleet:index:Host" } },
      { op: "create", urn: host("h1"), newState: { type: "kmod-fleet:index:Host" } },
      res("h1", "HostFacts", "h1-facts", "create"),
      res("h1", "ModulesOverlay", "h1-overlay", "create"),
      res("h1", "DeveloperContainer", "h1-devcontainer", "create", { osVersion: "3975.2.0" }),
      res("h1", "ModuleBuild", "h1-pair-build", "create", { set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", connection: "[secret]" }),
      res("h1", "ModuleLoad", "h1-pair-load", "create", { modules: ["pair_provider", "pair_consumer"] }),
      res("h2", "HostFacts", "h2-facts", "same"),
      res("h2", "ModuleBuild", "h2-pair-build", "same", { set: "pair", kernelRelease: "6.1.0-50-cloud-amd64" }),
    ];
    expect(planByHost({ steps })).toEqual([
      "h1:",
      "  + facts",
      "  + modules overlay",
      "  + developer container 3975.2.0",
      "  + build pair for 6.1.0-50-cloud-amd64",
      "  + load pair_provider pair_consumer",
      "h2: no changes",
    ]);
  });

  it("names replacements and updates, e.g. after a kernel update", () => {
    const steps = [
      res("h2", "HostFacts", "h2-facts", "update"),
      res("h2", "ModuleBuild", "h2-pair-build", "replace", { set: "pair", kernelRelease: "6.1.0-56-cloud-amd64" }),
      res("h2", "ModuleBuild", "h2-pair-build", "create-replacement", { set: "pair", kernelRelease: "6.1.0-56-cloud-amd64" }),
    ];
    expect(planByHost({ steps })).toEqual(["h2:", "  ~ facts", "  +- build pair for 6.1.0-56-cloud-amd64"]);
  });

  it("says when a value is not known yet (preview --json shows Pulumi's unknown marker)", () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const steps = [
      res("h1", "DeveloperContainer", "h1-devcontainer", "create", { osVersion: unknown }),
      res("h1", "ModuleBuild", "h1-tiny-build", "create", { set: "tiny", kernelRelease: unknown }),
    ];
    expect(planByHost({ steps })).toEqual(["h1:", "  + developer container (OS version not known yet)", "  + build tiny for (kernel not known yet)"]);
  });
});
