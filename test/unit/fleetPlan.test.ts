// The fleet's plan: what a run registers, decided from made-up probe results and store
// contents. Table tests: each row is a fleet as the program finds it and what it must make.
import { describe, expect, it } from "vitest";
import { artifactId } from "../../artifacts/store";
import { fleetPlan, wantedArtifacts, type FleetPlanInput, type PlanFacts, type ProbedHost } from "../../components/plan/fleetPlan";

const facts = (kernelRelease: string, more: Partial<PlanFacts> = {}): PlanFacts => ({ kernelRelease, arch: "x86_64", osVersion: "3975.2.0", kernelConfig: `/boot/config-${kernelRelease}`, bootSlot: "a", ...more });
const up = (name: string, f: PlanFacts, inventory: ProbedHost["inventory"] = { artifacts: {}, developerContainer: false }, labels: string[] = []): ProbedHost => ({ name, labels, facts: f, inventory });
const input = (hosts: ProbedHost[], more: Partial<FleetPlanInput> = {}): FleetPlanInput => ({
  hosts,
  sets: [{ name: "pair", hosts: hosts.map((h) => h.name), sourceIdentity: "sha256:abc" }],
  builders: [],
  storeLocation: "/store",
  ...more,
});
const idOf = (kernelRelease: string, set = "pair") => artifactId({ kernelRelease, arch: "x86_64", set, sourceIdentity: "sha256:abc" });
const TAKES_OVER = (h: string, set = "pair") => [{ name: `${h}-${set}-install` }, { name: `${h}-${set}-build`, type: "pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild" }];

/** Per host: its installs as `name <- source` and its load's source, in registration order. */
function registered(plan: ReturnType<typeof fleetPlan>) {
  const said = (s: { kind: string; build?: string; reason?: string }) => (s.kind === "build" ? s.build : s.kind === "problem" ? `problem: ${s.reason}` : s.kind);
  return Object.fromEntries(
    [...plan.hosts].map(([h, p]) => [h, p.sets.flatMap((s) => [...s.installs.map((i) => `${i.name} <- ${said(i.source)}${i.stagedKernelRelease ? ` for ${i.stagedKernelRelease}` : ""}`), `${s.load.name} <- ${said(s.load.source)}`])]),
  );
}

describe("fleetPlan", () => {
  it("three hosts on one kernel, an empty store: one build on the first host, its developer container, an install and a load on each", () => {
    const fleet = input([up("h1", facts("k1")), up("h2", facts("k1")), up("h3", facts("k1"))]);
    const plan = fleetPlan(fleet, new Set());
    expect(plan.builds).toEqual([
      expect.objectContaining({ name: "build-pair-k1-x86_64", obtain: { kind: "build", on: "h1" }, artifactId: idOf("k1"), kernelFromImage: false, kernelConfig: "/boot/config-k1", developerContainer: "h1-devcontainer-3975.2.0" }),
    ]);
    expect(plan.developerContainers).toEqual([{ name: "h1-devcontainer-3975.2.0", host: "h1", osVersion: "3975.2.0", aliases: [{ name: "h1-devcontainer" }] }]);
    expect(registered(plan)).toEqual({
      h1: ["h1-pair-install-a <- build-pair-k1-x86_64", "h1-pair-load <- build-pair-k1-x86_64"],
      h2: ["h2-pair-install-a <- build-pair-k1-x86_64", "h2-pair-load <- build-pair-k1-x86_64"],
      h3: ["h3-pair-install-a <- build-pair-k1-x86_64", "h3-pair-load <- build-pair-k1-x86_64"],
    });
    expect(plan.hosts.get("h2")!.sets[0].installs[0].aliases).toEqual(TAKES_OVER("h2"));
    expect(plan.messages).toEqual([{ level: "info", text: "pair for k1 (x86_64): not in the artifact store (/store); it will be built on h1" }]);
  });

  it.each([
    ["in the store: had from there, no developer container, nothing said", new Set([idOf("k1")]), {}, { kind: "stored" }, []],
    ["installed whole on h2: taken back from it, no developer container", new Set<string>(), { h2: idOf("k1") }, { kind: "take-back", from: "h2" }, []],
    ["installed, but another artifact (an older source): built", new Set<string>(), { h2: "other" }, { kind: "build", on: "h1" }, ["h1-devcontainer-3975.2.0"]],
  ])("%s", (_what, stored, installed: Record<string, string>, obtain, images) => {
    const inv = (h: string) => ({ artifacts: (installed[h] ? { pair: installed[h] } : {}) as Record<string, string>, developerContainer: false });
    const plan = fleetPlan(input([up("h1", facts("k1"), inv("h1")), up("h2", facts("k1"), inv("h2"))]), stored);
    expect(plan.builds.map((b) => b.obtain)).toEqual([obtain]);
    expect(plan.developerContainers.map((d) => d.name)).toEqual(images);
  });

  it("a builder that has its image keeps it even when the artifact is stored, so the next preview is the same", () => {
    const plan = fleetPlan(input([up("h1", facts("k1"), { artifacts: {}, developerContainer: true })]), new Set([idOf("k1")]));
    expect(plan.developerContainers.map((d) => d.name)).toEqual(["h1-devcontainer-3975.2.0"]);
    expect(plan.builds[0].developerContainer).toBe("h1-devcontainer-3975.2.0");
  });

  it("the store is asked for exactly the artifacts of the plan's builds", () => {
    const fleet = input([up("h1", facts("k1")), up("h2", facts("k2"))]);
    expect(wantedArtifacts(fleet).map(artifactId)).toEqual([idOf("k1"), idOf("k2")]);
  });

  it("an update staged on h2 (slot b): an install for the staged kernel beside the running one; h2 builds it from the image", () => {
    const staged = facts("k1", { stagedOsVersion: "3975.2.1", stagedKernelRelease: "k2", stagedSlot: "b" });
    const plan = fleetPlan(input([up("h1", facts("k1")), up("h2", staged)]), new Set());
    expect(plan.builds.map((b) => [b.name, b.group.builder, b.kernelFromImage, b.kernelConfig])).toEqual([
      ["build-pair-k1-x86_64", "h1", false, "/boot/config-k1"],
      ["build-pair-k2-x86_64", "h2", true, ""],
    ]);
    expect(registered(plan).h2).toEqual(["h2-pair-install-a <- build-pair-k1-x86_64", "h2-pair-install-b <- build-pair-k2-x86_64 for k2", "h2-pair-load <- build-pair-k1-x86_64"]);
    // The staged install takes over no older name: only the running kernel's install does.
    expect(plan.hosts.get("h2")!.sets[0].installs[1].aliases).toEqual([]);
    // The staged release's image has no resource of before to take over.
    expect(plan.developerContainers.find((d) => d.host === "h2")).toEqual({ name: "h2-devcontainer-3975.2.1", host: "h2", osVersion: "3975.2.1", aliases: [] });
  });

  it("boot slots the facts do not say: the running kernel is taken to be in a, a staged one in b", () => {
    const plan = fleetPlan(input([up("h1", facts("k1", { bootSlot: "", stagedOsVersion: "3975.2.1", stagedKernelRelease: "k2", stagedSlot: "" }))]), new Set());
    expect(plan.hosts.get("h1")!.sets[0].installs.map((i) => i.name)).toEqual(["h1-pair-install-a", "h1-pair-install-b"]);
  });

  it("a host that runs slot b after the reboot: its install-b is the running one and takes over the old names", () => {
    const plan = fleetPlan(input([up("h1", facts("k2", { bootSlot: "b" }))]), new Set());
    expect(plan.hosts.get("h1")!.sets[0].installs).toEqual([expect.objectContaining({ name: "h1-pair-install-b", aliases: TAKES_OVER("h1") })]);
  });

  it("an unreachable host: both slots' installs and its load stay as they are (unknown source); it builds nothing", () => {
    const plan = fleetPlan(input([{ name: "h1", labels: [], unreachable: "timed out" }, up("h2", facts("k1"))]), new Set());
    expect(registered(plan).h1).toEqual(["h1-pair-install-a <- unknown", "h1-pair-install-b <- unknown", "h1-pair-load <- unknown"]);
    expect(plan.builds.map((b) => b.group.installs)).toEqual([["h2"]]);
  });

  it("a pending host (preview before its machine exists): one install of an artifact not known yet, a note that says why", () => {
    const plan = fleetPlan(input([{ name: "new", labels: [], pending: true }, up("h2", facts("k1"))]), new Set([idOf("k1")]));
    expect(registered(plan).new).toEqual(["new-pair-install-a <- pending", "new-pair-load <- pending"]);
    expect(plan.messages).toEqual([{ level: "info", text: expect.stringMatching(/^new: its address or host key is not known/) }]);
  });

  it("no host may build a group: its hosts get the reason, unless a pending host may turn out to be its builder", () => {
    const hosts = [up("h1", facts("k1")), up("h2", facts("k2"), undefined, ["big"])];
    const plan = fleetPlan(input(hosts, { builders: ["big"] }), new Set());
    expect(registered(plan).h1).toEqual([expect.stringMatching(/^h1-pair-install-a <- problem: pair cannot be built for k1: no host allowed to build runs k1/), expect.stringMatching(/^h1-pair-load <- problem: /)]);
    const withPending = fleetPlan(input([...hosts, { name: "new", labels: ["big"], pending: true }], { builders: ["big"] }), new Set());
    expect(registered(withPending).h1).toEqual(["h1-pair-install-a <- pending", "h1-pair-load <- pending"]);
  });

  it("builds on one builder run one after another (they share its kernel tree); hosts get only their sets", () => {
    const fleet = input([up("h1", facts("k1")), up("h2", facts("k1"))], {
      sets: [
        { name: "pair", hosts: ["h1", "h2"], sourceIdentity: "sha256:abc" },
        { name: "bfs", hosts: ["h2"], sourceIdentity: "BFS_FS" },
      ],
    });
    const plan = fleetPlan(fleet, new Set());
    expect(plan.builds.map((b) => [b.name, b.group.builder, b.after])).toEqual([
      ["build-bfs-k1-x86_64", "h2", undefined],
      ["build-pair-k1-x86_64", "h1", undefined],
    ]);
    expect(registered(plan).h1).toEqual(["h1-pair-install-a <- build-pair-k1-x86_64", "h1-pair-load <- build-pair-k1-x86_64"]);
    const oneBuilder = fleetPlan({ ...fleet, builders: ["h2"] }, new Set());
    expect(oneBuilder.builds.map((b) => [b.name, b.after])).toEqual([
      ["build-bfs-k1-x86_64", undefined],
      ["build-pair-k1-x86_64", "build-bfs-k1-x86_64"],
    ]);
  });

  describe("the other slot after an update: a rollback's target keeps its modules", () => {
    // h2 rebooted into k2 (slot b); slot a still holds k1, the release before, with pair installed whole.
    const rebooted = (inventory: ProbedHost["inventory"]) => up("h2", facts("k2", { bootSlot: "b", osVersion: "3975.2.1", otherSlot: "a", otherKernelRelease: "k1" }), inventory);
    const installedK1 = { artifacts: { pair: idOf("k2") }, developerContainer: false, other: { artifacts: { pair: idOf("k1") }, developerContainer: false } };

    it("its install for the other slot stays, from the store, beside the running one; nothing is built for it", () => {
      const plan = fleetPlan(input([up("h1", facts("k1")), rebooted(installedK1)]), new Set([idOf("k1"), idOf("k2")]));
      expect(registered(plan).h2).toEqual(["h2-pair-install-b <- build-pair-k2-x86_64", "h2-pair-install-a <- build-pair-k1-x86_64 for k1", "h2-pair-load <- build-pair-k2-x86_64"]);
      expect(plan.builds.map((b) => [b.name, b.obtain.kind, b.group.installs, b.group.kept])).toEqual([
        ["build-pair-k1-x86_64", "stored", ["h1", "h2"], ["h2"]],
        ["build-pair-k2-x86_64", "stored", ["h2"], []],
      ]);
    });

    it("when no host runs that kernel any more its build stays (the store keeps the artifact), taken back from the host if the store lost it, never built", () => {
      const plan = fleetPlan(input([rebooted(installedK1)], { builders: ["elsewhere"] }), new Set([idOf("k2")]));
      const k1 = plan.builds.find((b) => b.group.kernelRelease === "k1")!;
      expect([k1.obtain, k1.group.builder, k1.group.osVersion]).toEqual([{ kind: "take-back", from: "h2" }, "h2", ""]);
      expect(plan.developerContainers).toEqual([]);
    });

    it("a set not installed whole for it, or from an older source, is not rebuilt for it: an older install stays as it is", () => {
      const none = fleetPlan(input([rebooted({ ...installedK1, other: { artifacts: {}, developerContainer: false } })]), new Set([idOf("k2")]));
      expect(registered(none).h2).toEqual(["h2-pair-install-b <- build-pair-k2-x86_64", "h2-pair-load <- build-pair-k2-x86_64"]);
      const older = fleetPlan(input([rebooted({ ...installedK1, other: { artifacts: { pair: "older" }, developerContainer: false } })]), new Set([idOf("k2")]));
      expect(registered(older).h2).toEqual(["h2-pair-install-b <- build-pair-k2-x86_64", "h2-pair-install-a <- unknown", "h2-pair-load <- build-pair-k2-x86_64"]);
      expect(older.builds.map((b) => b.name)).toEqual(["build-pair-k2-x86_64"]);
    });

    it("a new update staged over it: the slot's install is for the staged kernel (update_engine has overwritten the old release)", () => {
      const staged = up("h2", facts("k2", { bootSlot: "b", osVersion: "3975.2.1", otherSlot: "a", otherKernelRelease: "k3", stagedOsVersion: "3975.2.2", stagedKernelRelease: "k3", stagedSlot: "a" }), installedK1);
      const plan = fleetPlan(input([staged]), new Set());
      expect(registered(plan).h2).toEqual(["h2-pair-install-b <- build-pair-k2-x86_64", "h2-pair-install-a <- build-pair-k3-x86_64 for k3", "h2-pair-load <- build-pair-k2-x86_64"]);
    });
  });

  describe("build ahead: a release the channel publishes is built before any host stages it", () => {
    const onChannel = (name: string, kernel: string, more: Partial<PlanFacts> = {}) => up(name, facts(kernel, { group: "stable", board: "amd64-usr", ...more }));
    const published = [{ group: "stable", board: "amd64-usr", osVersion: "3975.2.1", kernelRelease: "k2", arch: "x86_64" }];

    it("one build on the first host that may build, from the release's developer container; no host installs it yet", () => {
      const plan = fleetPlan(input([onChannel("h1", "k1"), onChannel("h2", "k1")], { published, builders: ["h2"] }), new Set([idOf("k1")]));
      const ahead = plan.builds.find((b) => b.group.kernelRelease === "k2")!;
      expect([ahead.name, ahead.group.builder, ahead.group.installs, ahead.group.osVersion, ahead.kernelFromImage, ahead.obtain]).toEqual(["build-pair-k2-x86_64", "h2", [], "3975.2.1", true, { kind: "build", on: "h2" }]);
      expect(plan.developerContainers.map((d) => d.name)).toEqual(["h2-devcontainer-3975.2.1"]);
      expect(registered(plan).h1).toEqual(["h1-pair-install-a <- build-pair-k1-x86_64", "h1-pair-load <- build-pair-k1-x86_64"]);
      expect(plan.messages.map((m) => m.text)).toContain("pair for k2 (x86_64), for OS 3975.2.1 (published, staged by no host yet): not in the artifact store (/store); it will be built on h2");
    });

    it("once built, it is had from the store; when a host stages it, the same build is its group's and only the install is left", () => {
      const stored = new Set([idOf("k1"), idOf("k2")]);
      const before = fleetPlan(input([onChannel("h1", "k1"), onChannel("h2", "k1")], { published }), stored);
      expect(before.builds.map((b) => [b.name, b.obtain.kind])).toEqual([["build-pair-k1-x86_64", "stored"], ["build-pair-k2-x86_64", "stored"]]);
      expect(before.developerContainers).toEqual([]);
      const staged = onChannel("h2", "k1", { stagedOsVersion: "3975.2.1", stagedKernelRelease: "k2", stagedSlot: "b" });
      const after = fleetPlan(input([onChannel("h1", "k1"), staged], { published }), stored);
      expect(after.builds.map((b) => [b.name, b.obtain.kind, b.group.installs])).toEqual([["build-pair-k1-x86_64", "stored", ["h1", "h2"]], ["build-pair-k2-x86_64", "stored", ["h2"]]]);
      expect(registered(after).h2).toContain("h2-pair-install-b <- build-pair-k2-x86_64 for k2");
    });

    it("a release the hosts run already, another channel's or another architecture's is not built ahead", () => {
      const current = fleetPlan(input([onChannel("h1", "k2")], { published }), new Set());
      expect(current.builds.map((b) => b.name)).toEqual(["build-pair-k2-x86_64"]);
      const beta = fleetPlan(input([up("h1", facts("k1", { group: "beta", board: "amd64-usr" }))], { published }), new Set());
      expect(beta.builds.map((b) => b.name)).toEqual(["build-pair-k1-x86_64"]);
      const arm = fleetPlan(input([onChannel("h1", "k1")], { published: [{ ...published[0], board: "amd64-usr", arch: "aarch64" }] }), new Set());
      expect(arm.builds.map((b) => b.name)).toEqual(["build-pair-k1-x86_64"]);
    });

    it("no host of the channel may build: a warning, nothing planned", () => {
      const plan = fleetPlan(input([onChannel("h1", "k1")], { published, builders: ["elsewhere"] }), new Set());
      expect(plan.builds.filter((b) => b.group.kernelRelease === "k2")).toEqual([]);
      expect(plan.messages).toContainEqual({ level: "warn", text: expect.stringMatching(/^pair is not built ahead for 3975\.2\.1 \(kernel k2\), published on stable\/amd64-usr: no host of that channel may build/) });
    });
  });
});
