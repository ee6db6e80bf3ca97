// The reboot gate's state as a host reports it (gate.sh writes it, key=value lines; the
// facts probe and the gate's read pass it on), and how a preview or an up says it. Pure:
// no I/O, so the unit tests read it directly. Values come from a host: each is checked
// before it is shown, and a state that does not parse is reported as such, never trusted.
import { PLAIN_NAME, PLAIN_NAME_MAX, SET_NAME } from "../../../config/names";

export type GateState = "idle" | "held" | "released" | "proceeded";

export interface RebootHold {
  state: GateState;
  /** The staged release, its kernel ("" when its image could not be read), since when the gate holds it (ISO time, UTC). */
  version: string;
  kernel: string;
  since: string;
  /** The sets that have no verified install for the staged kernel. */
  waiting: string[];
}

const STATES: GateState[] = ["idle", "held", "released", "proceeded"];
const plain = (v: string) => v === "" || (v.length <= PLAIN_NAME_MAX && PLAIN_NAME.test(v));

/**
 * gate.sh's state file (or its probe's lines): undefined when there is none (no gate on the
 * host); an Error naming what is wrong when a value is not what gate.sh writes.
 */
export function parseRebootHold(text: string): RebootHold | undefined | Error {
  const v: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^(state|version|kernel|since|waiting)=(.*)$/.exec(line);
    if (m && !(m[1] in v)) v[m[1]] = m[2];
  }
  if (v.state === undefined) return undefined;
  const bad: string[] = [];
  if (!STATES.includes(v.state as GateState)) bad.push(`state ${JSON.stringify(v.state.slice(0, 40))}`);
  if (!plain(v.version ?? "")) bad.push("version");
  if (!plain(v.kernel ?? "")) bad.push("kernel");
  if (!/^[0-9]{0,12}$/.test(v.since ?? "")) bad.push("since");
  const waiting = (v.waiting ?? "").split(" ").filter(Boolean);
  if (!waiting.every((s) => SET_NAME.test(s))) bad.push("waiting");
  if (bad.length > 0) return new Error(`the reboot gate's state cannot be read (${bad.join(", ")})`);
  const since = v.since ? new Date(Number(v.since) * 1000).toISOString().replace(/\.000Z$/, "Z") : "";
  return { state: v.state as GateState, version: v.version ?? "", kernel: v.kernel ?? "", since, waiting };
}

/** One line for the preview or up: what the gate does with the host's staged update, or nothing when none is staged. */
export function describeRebootHold(host: string, hold: RebootHold | undefined): string | undefined {
  if (!hold || hold.state === "idle") return undefined;
  const target = `reboot into ${hold.version || "the staged release"} (kernel ${hold.kernel || "unknown"})`;
  switch (hold.state) {
    case "held":
      return `${host}: ${target} held since ${hold.since}: waiting for ${hold.waiting.join(", ")}`;
    case "proceeded":
      if (!hold.kernel) return `${host}: ${target} allowed: its kernel cannot be read before the reboot, so ${hold.waiting.join(", ")} cannot be checked`;
      return `${host}: ${target} allowed after the longest hold (since ${hold.since}), without ${hold.waiting.join(", ")}`;
    case "released":
      return `${host}: ${target} allowed: every module set is installed for it`;
  }
}
