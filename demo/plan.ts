// What a `pulumi preview --json` of the fleet will do, per host, in a few lines: the demo
// shows this instead of the preview's dump of every input of every resource.

interface Step {
  op: string;
  urn: string;
  newState?: { type?: string; parent?: string; inputs?: Record<string, any> };
  oldState?: { type?: string; parent?: string; inputs?: Record<string, any> };
}

const HOST_TYPE = "kmod-fleet:index:Host";
/** The fleet's builds (one per kernel and set), parented to the Fleet, not to a host. */
const BUILD_TYPE = "pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild";
const nameOf = (urn: string) => String(urn).split("::").pop() ?? "";
/** The resource's own type: a URN's type part is qualified by its parents' ("A$B$type"). */
const typeOf = (urn: string) => (String(urn).split("::")[2] ?? "").split("$").pop() ?? "";

/** What `preview --json` shows for a value that is not known yet (e.g. facts of an unreachable host). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const known = (v: unknown): string | undefined => (typeof v === "string" && v !== UNKNOWN && v !== "" ? v : undefined);

/**
 * A host's resources in the order they apply on it. The engine's step order is not
 * stable for resources that do not depend on each other (a reboot gate and an install),
 * and a plan that reorders itself from one preview to the next reads as a change.
 */
const ORDER = ["HostFacts", "ModulesOverlay", "DeveloperContainer", "RebootGate", "ModuleInstall", "ModuleLoad"];
const rank = (type: string) => {
  const i = ORDER.indexOf(type.split(":").pop() ?? "");
  return i < 0 ? ORDER.length : i;
};

/** Pulumi's own marks: + create, ~ update, +- replace, - delete; undefined when nothing changes. */
function mark(op: string): string | undefined {
  const marks: Record<string, string> = { create: "+", update: "~", replace: "+-", "create-replacement": "+-", "delete-replaced": "+-", delete: "-" };
  return marks[op];
}

/** A resource in words, from its inputs: "build kmod-pair for 6.1.0-50-cloud-amd64 on h1". */
function what(type: string, name: string, inputs: Record<string, any>): string {
  switch (type.split(":").pop()) {
    case "HostFacts":
      return "facts";
    case "ModulesOverlay":
      return "modules overlay";
    case "DeveloperContainer":
      return `developer container ${known(inputs.osVersion) ?? "(OS version not known yet)"}`;
    case "ModuleBuild": {
      const what = `${known(inputs.set) ?? name} for ${known(inputs.kernelRelease) ?? "(kernel not known yet)"}`;
      const obtain = known(inputs.obtain);
      if (obtain?.startsWith("take back from ")) return `${what}: ${obtain} into the artifact store`;
      if (obtain === "stored") return `${what}: in the artifact store`;
      return `build ${what}${known(inputs.builder) ? ` on ${inputs.builder}` : ""}`;
    }
    case "ModuleInstall":
      return `install ${known(inputs.set) ?? name}${known(inputs.kernelRelease) ? ` for ${inputs.kernelRelease}` : ""}${known(inputs.builder) ? ` (built on ${inputs.builder})` : ""}`;
    case "RebootGate":
      return `reboot gate for ${Array.isArray(inputs.sets) && inputs.sets.length ? inputs.sets.join(" ") : name}`;
    case "ModuleLoad":
      return `load ${Array.isArray(inputs.modules) && inputs.modules.length ? inputs.modules.join(" ") : (known(inputs.set) ?? name)}`;
    default:
      return name;
  }
}

/** By kind in the order they apply, then by text: the same plan reads the same every time. */
const inApplyOrder = (changes: Iterable<{ rank: number; line: string }>) =>
  [...changes].sort((a, b) => a.rank - b.rank || a.line.localeCompare(b.line)).map((c) => c.line);

/**
 * The fleet's builds first ("builds:", one line each, only when some change), then per host
 * what changes, one resource a line ("  + install kmod-pair for 6.1.0-50-cloud-amd64 (built on h1)"); a host whose
 * resources all stay the same is one line "h2: no changes".
 */
export function planByHost(preview: { steps?: Step[] }): string[] {
  const builds = new Map<string, string>();
  const hosts = new Map<string, Map<string, { rank: number; line: string }>>();
  const changesOf = (host: string) => hosts.get(host) ?? hosts.set(host, new Map()).get(host)!;
  for (const step of preview.steps ?? []) {
    const state = step.newState ?? step.oldState ?? {};
    const type = typeOf(step.urn);
    if (type === HOST_TYPE) changesOf(nameOf(step.urn));
    const m = mark(step.op);
    const line = () => `  ${m} ${what(type, nameOf(step.urn), state.inputs ?? {})}`;
    // A replacement has several steps (replace, create-replacement, delete-replaced): one line.
    if (type === BUILD_TYPE) {
      if (m && !builds.has(step.urn)) builds.set(step.urn, line());
      continue;
    }
    if (!state.parent || typeOf(state.parent) !== HOST_TYPE) continue;
    const changes = changesOf(nameOf(state.parent));
    if (m && !changes.has(step.urn)) changes.set(step.urn, { rank: rank(type), line: line() });
  }
  return [
    ...(builds.size ? ["builds:", ...[...builds.values()].sort()] : []),
    ...[...hosts].sort(([a], [b]) => a.localeCompare(b)).flatMap(([host, changes]) => (changes.size ? [`${host}:`, ...inApplyOrder(changes.values())] : [`${host}: no changes`])),
  ];
}
