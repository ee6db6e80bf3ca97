// The fleet's build plan: table tests on made-up fleets.
import { describe, expect, it } from "vitest";
import { decideObtain, describeObtain, developerContainerNeeds, installsByHost, mayBuild, obtainWay, planBuilds, type PlanHost } from "../../components/plan/buildPlan";

const host = (name: string, kernelRelease?: string, labels: string[] = [], osVersion = "3975.2.0"): PlanHost => ({
  name,
  labels,
  facts: kernelRelease ? { kernelRelease, arch: "x86_64", osVersion } : undefined,
});
const pair = (hosts: string[]) => ({ name: "kmod-pair", hosts, sourceIdentity: "sha256:abc" });

describe("planBuilds", () => {
  it("one build per kernel: three hosts on one kernel give one build, three installs", () => {
    const plan = planBuilds([host("h1", "k1"), host("h2", "k1"), host("h3", "k1")], [pair(["h1", "h2", "h3"])]);
    expect(plan.groups).toEqual([
      { id: "kmod-pair-k1-x86_64", set: "kmod-pair", kernelRelease: "k1", arch: "x86_64", sourceIdentity: "sha256:abc", osVersion: "3975.2.0", builder: "h1", installs: ["h1", "h2", "h3"], staged: [], kept: [] },
    ]);
    expect(plan.problems).toEqual([]);
  });

  it("a kernel update on 2 of 3 hosts: one build for the new kernel, two installs, the third host as it was", () => {
    const plan = planBuilds([host("h1", "k1"), host("h2", "k2", [], "3975.2.1"), host("h3", "k2", [], "3975.2.1")], [pair(["h1", "h2", "h3"])]);
    expect(plan.groups.map((g) => [g.kernelRelease, g.builder, g.installs, g.osVersion])).toEqual([
      ["k1", "h1", ["h1"], "3975.2.0"],
      ["k2", "h2", ["h2", "h3"], "3975.2.1"],
    ]);
  });

  it("an update staged on 2 of 3 hosts: one build for the staged kernel with its release's developer container, installed on those two before their reboot", () => {
    const staged = (name: string): PlanHost => ({ name, labels: [], facts: { kernelRelease: "k1", arch: "x86_64", osVersion: "3975.2.0", stagedOsVersion: "3975.2.1", stagedKernelRelease: "k2" } });
    const plan = planBuilds([host("h1", "k1"), staged("h2"), staged("h3")], [pair(["h1", "h2", "h3"])]);
    expect(plan.groups.map((g) => [g.kernelRelease, g.builder, g.installs, g.staged, g.osVersion])).toEqual([
      ["k1", "h1", ["h1", "h2", "h3"], [], "3975.2.0"],
      ["k2", "h2", ["h2", "h3"], ["h2", "h3"], "3975.2.1"],
    ]);
    // After the reboot the same group, the same builder: nothing new to build or install.
    const after = planBuilds([host("h1", "k1"), host("h2", "k2", [], "3975.2.1"), host("h3", "k2", [], "3975.2.1")], [pair(["h1", "h2", "h3"])]);
    expect(after.groups[1]).toEqual({ ...plan.groups[1], staged: [] });
  });

  it("a staged release that keeps the running kernel plans nothing more; one whose kernel cannot be read is a warning", () => {
    const same: PlanHost = { name: "h1", labels: [], facts: { kernelRelease: "k1", arch: "x86_64", osVersion: "3975.2.0", stagedOsVersion: "3975.2.1", stagedKernelRelease: "k1" } };
    expect(planBuilds([same], [pair(["h1"])]).groups.map((g) => [g.kernelRelease, g.staged])).toEqual([["k1", []]]);
    const unread: PlanHost = { name: "h1", labels: [], facts: { kernelRelease: "k1", arch: "x86_64", osVersion: "3975.2.0", stagedOsVersion: "3975.2.1", stagedKernelRelease: "" } };
    const plan = planBuilds([unread], [pair(["h1"])]);
    expect(plan.groups).toHaveLength(1);
    expect(plan.warnings).toEqual([expect.stringMatching(/^h1: OS version 3975\.2\.1 is staged for the next boot, but its kernel's release could not be read/)]);
  });

  it("the builder does not depend on the order hosts are listed in", () => {
    const a = planBuilds([host("h3", "k1"), host("h1", "k1"), host("h2", "k1")], [pair(["h3", "h2", "h1"])]);
    const b = planBuilds([host("h1", "k1"), host("h2", "k1"), host("h3", "k1")], [pair(["h1", "h2", "h3"])]);
    expect(a).toEqual(b);
  });

  it("build.builders limits who builds, by name or label", () => {
    const hosts = [host("a", "k1"), host("b", "k1", ["big"]), host("c", "k1")];
    expect(planBuilds(hosts, [pair(["a", "b", "c"])], { builders: ["big"] }).groups[0].builder).toBe("b");
    expect(planBuilds(hosts, [pair(["a", "b", "c"])], { builders: ["c"] }).groups[0].builder).toBe("c");
  });

  it("a group with no allowed builder is a problem for its hosts, other groups go on", () => {
    const plan = planBuilds([host("a", "k1", ["big"]), host("b", "k2"), host("c", "k2")], [pair(["a", "b", "c"])], { builders: ["big"] });
    expect(plan.groups.map((g) => g.kernelRelease)).toEqual(["k1"]);
    expect(plan.problems).toEqual([{ set: "kmod-pair", kernelRelease: "k2", hosts: ["b", "c"], staged: [], kept: [], reason: expect.stringMatching(/no host allowed to build runs k2 .*build\.builders is \[big\]/) }]);
  });

  it("an unreachable host gets nothing planned and builds nothing", () => {
    const plan = planBuilds([host("h1"), host("h2", "k1")], [pair(["h1", "h2"])]);
    expect(plan.groups.map((g) => [g.builder, g.installs])).toEqual([["h2", ["h2"]]]);
  });

  it("each set is its own build; hosts get only the sets they are listed in", () => {
    const plan = planBuilds([host("h1", "k1"), host("h2", "k1")], [pair(["h1", "h2"]), { name: "bfs", hosts: ["h2"], sourceIdentity: "BFS_FS" }]);
    expect(plan.groups.map((g) => g.id)).toEqual(["bfs-k1-x86_64", "kmod-pair-k1-x86_64"]);
    const per = installsByHost(plan);
    expect(per.get("h1")!.map((g) => g.set)).toEqual(["kmod-pair"]);
    expect(per.get("h2")!.map((g) => g.set).sort()).toEqual(["bfs", "kmod-pair"]);
  });

  it("architectures never share a build", () => {
    const arm: PlanHost = { name: "h2", labels: [], facts: { kernelRelease: "k1", arch: "aarch64", osVersion: "3975.2.0" } };
    const plan = planBuilds([host("h1", "k1"), arm], [pair(["h1", "h2"])]);
    expect(plan.groups.map((g) => [g.arch, g.builder])).toEqual([["aarch64", "h2"], ["x86_64", "h1"]]);
  });
});

describe("how an artifact is had, and who needs the developer container", () => {
  const [group] = planBuilds([host("h1", "k1"), host("h2", "k1"), host("h3", "k1")], [pair(["h1", "h2", "h3"])]).groups;
  it("in the store: nothing to do", () => expect(describeObtain(decideObtain(group, { stored: true, installedOn: ["h2"] }))).toBe("stored"));
  it("not in the store but installed on hosts: taken back from the first by name", () => expect(describeObtain(decideObtain(group, { stored: false, installedOn: ["h3", "h2"] }))).toBe("take back from h2"));
  it("nowhere: built on the builder", () => expect(describeObtain(decideObtain(group, { stored: false, installedOn: [] }))).toBe("build on h1"));
  it("a host outside the group never gives it back (another kernel)", () => expect(decideObtain(group, { stored: false, installedOn: ["h9"] })).toEqual({ kind: "build", on: "h1" }));

  // The same rule when the build acts (components/providers/moduleBuild/moduleBuild.ts): the store may have been filled since the program ran.
  it.each([
    [{ stored: true, installedOn: "h2", builder: "h1" }, "stored"],
    [{ stored: false, installedOn: "h2", builder: "h1" }, "take back from h2"],
    [{ stored: false, builder: "h1" }, "build on h1"],
  ])("obtainWay(%j) is %s", (found, said) => expect(describeObtain(obtainWay(found))).toBe(said));

  it.each([
    [[], true],
    [["h1"], true],
    [["big"], true],
    [["h2", "small"], false],
  ])("with build.builders %j, h1 (labelled big) may build: %s", (builders, may) => expect(mayBuild({ name: "h1", labels: ["big"] }, builders)).toBe(may));

  it("the developer container: on builders that must build, or that have it already", () => {
    const plan = planBuilds([host("h1", "k2", [], "3975.2.1"), host("h2", "k2", [], "3975.2.1"), host("h3", "k2", [], "3975.2.1"), host("h4", "k1")], [pair(["h1", "h2", "h3", "h4"])]);
    const [k1, k2] = plan.groups;
    expect([k1.builder, k2.builder]).toEqual(["h4", "h1"]);
    // After a kernel update on h1-h3: k2 must be built on h1; k1 is stored and h4 never had an image: nothing on h4.
    const decided = [
      { group: k1, obtain: decideObtain(k1, { stored: true, installedOn: ["h4"] }) },
      { group: k2, obtain: decideObtain(k2, { stored: false, installedOn: [] }) },
    ];
    expect(developerContainerNeeds(decided, () => false)).toEqual([{ host: "h1", osVersion: "3975.2.1" }]);
    // A builder that has its image keeps it, so the next preview is the same.
    expect(developerContainerNeeds(decided, (h) => h === "h4")).toEqual([{ host: "h1", osVersion: "3975.2.1" }, { host: "h4", osVersion: "3975.2.0" }]);
    // Taken back from a host: no image is needed for it.
    expect(developerContainerNeeds([{ group: k2, obtain: decideObtain(k2, { stored: false, installedOn: ["h2"] }) }], () => false)).toEqual([]);
  });
});
