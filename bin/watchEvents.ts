/**
 * What one Pulumi operation (a preview or an up) did per host, read from the engine's events
 * as the Automation API streams them. Pure: `kmod-fleet watch` feeds it every event and logs
 * what `result()` says.
 *
 * Which host a resource belongs to: every host's resources are children of its
 * `kmod-fleet:index:Host` component, named after the host (components/host.ts), so a step's
 * parent URN names the host. A resource that never got a step (a facts resource whose check
 * failed) is matched by its name (`<host>-...`) against the hosts seen so far, and the
 * program's own messages, which carry no URN, by their `<host>: ` prefix.
 */
import type { EngineEvent, OpType, StepEventMetadata } from "@pulumi/pulumi/automation";

export const HOST_TYPE = "kmod-fleet:index:Host";

export type HostOutcome = "ok" | "failed" | "unreachable";
/** Count per kind of change, e.g. { create: 4, update: 1 }. */
export type ChangeCounts = Partial<Record<OpType, number>>;

export interface HostReport {
  outcome: HostOutcome;
  changes: ChangeCounts;
  /** Why the host failed or could not be reached. */
  message?: string;
}

export interface OperationReport {
  hosts: Map<string, HostReport>;
  /** Every change planned or made, hosts and fleet-wide resources (the builds) alike. */
  changes: ChangeCounts;
  /** Errors that name no host (the program's own, a config error). */
  fleetErrors: string[];
}

/**
 * Steps that change nothing, or are the halves of a replace already counted as "replace"
 * (the engine reports a replacement as create-replacement, replace and delete-replaced).
 */
const NOT_A_CHANGE = new Set<string>(["same", "refresh", "read", "create-replacement", "delete-replaced", "discard-replaced", "remove-pending-replace"]);

/** What the facts resource (or, with allowUnreachableHosts, the program's warning) says of a host it cannot reach. */
const UNREACHABLE = /could not be probed/;

/** "urn:pulumi:stack::project::A$B$C::name" -> its types [A, B, C] and its name. */
export function parseUrn(urn: string): { types: string[]; name: string } {
  const parts = urn.split("::");
  return { types: (parts[2] ?? "").split("$"), name: parts.slice(3).join("::") };
}

/** A message as a log line carries it: no colour codes, no trailing newline, the engine's type prefix shortened. */
export function cleanMessage(message: string): string {
  return (
    message
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-9;]*m|<\{%[^%]*%\}>/g, "")
      .replace(/^\S+ resource '([^']+)' has a problem: /, "$1: ")
      .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, "[private key]")
      .trim()
  );
}

export class OperationEvents {
  private readonly hostOf = new Map<string, string>();
  private readonly known = new Set<string>();
  private readonly outputs: StepEventMetadata[] = [];
  private readonly failedSteps: string[] = [];
  private readonly diagnostics: { severity: "error" | "warning"; message: string; urn?: string }[] = [];

  /** Takes one engine event; events that say nothing about outcomes are ignored. */
  add(event: EngineEvent): void {
    const step = event.resourcePreEvent?.metadata ?? event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
    if (step) this.learn(step);
    if (event.resOutputsEvent) this.outputs.push(event.resOutputsEvent.metadata);
    if (event.resOpFailedEvent) this.failedSteps.push(event.resOpFailedEvent.metadata.urn);
    const diag = event.diagnosticEvent;
    if (diag && (diag.severity === "error" || diag.severity === "warning")) this.diagnostics.push({ severity: diag.severity, message: cleanMessage(diag.message), urn: diag.urn });
  }

  /**
   * Per host, what changed and how it ended. Read once every event is in: a message may come
   * before the step that tells which host its resource belongs to.
   */
  result(): OperationReport {
    const total: ChangeCounts = {};
    const changes = new Map<string, ChangeCounts>();
    for (const step of this.outputs.filter((s) => !NOT_A_CHANGE.has(s.op))) {
      addOne(total, step.op);
      const host = this.hostOfUrn(step.urn);
      if (!host) continue;
      if (!changes.has(host)) changes.set(host, {});
      addOne(changes.get(host)!, step.op);
    }
    const unreachable = new Map<string, string>();
    const failed = new Map<string, string>();
    const fleetErrors: string[] = [];
    for (const d of this.diagnostics) {
      const host = d.urn ? this.hostOfUrn(d.urn) : this.hostNamedIn(d.message);
      if (host && UNREACHABLE.test(d.message)) unreachable.set(host, d.message);
      else if (host && d.severity === "error") failed.set(host, failed.get(host) ?? d.message);
      else if (d.severity === "error") fleetErrors.push(d.message);
    }
    for (const host of this.failedSteps.map((urn) => this.hostOfUrn(urn))) {
      if (host && !failed.has(host)) failed.set(host, "a step on this host failed");
    }
    const hosts = new Map<string, HostReport>();
    for (const host of [...this.known].sort()) {
      const own = changes.get(host) ?? {};
      if (unreachable.has(host)) hosts.set(host, { outcome: "unreachable", changes: own, message: unreachable.get(host) });
      else if (failed.has(host)) hosts.set(host, { outcome: "failed", changes: own, message: failed.get(host) });
      else hosts.set(host, { outcome: "ok", changes: own });
    }
    return { hosts, changes: total, fleetErrors };
  }

  /** Remembers the host of a step's resource, from its parent (or itself, for the host component). */
  private learn(step: StepEventMetadata): void {
    const own = parseUrn(step.urn);
    if (own.types[own.types.length - 1] === HOST_TYPE) {
      this.known.add(own.name);
      this.hostOf.set(step.urn, own.name);
      return;
    }
    const parent = step.new?.parent || step.old?.parent;
    if (!parent) return;
    const p = parseUrn(parent);
    if (p.types[p.types.length - 1] !== HOST_TYPE) return;
    this.known.add(p.name);
    this.hostOf.set(step.urn, p.name);
  }

  /** The host a resource belongs to: learnt from its steps, else a host's component type in its URN and the host's name before its own. */
  private hostOfUrn(urn: string): string | undefined {
    const learnt = this.hostOf.get(urn);
    if (learnt) return learnt;
    const { types, name } = parseUrn(urn);
    if (!types.slice(0, -1).includes(HOST_TYPE)) return undefined;
    return this.longestKnown((host) => name.startsWith(`${host}-`));
  }

  /** The program's messages name their host first: "h3: could not be probed, ...". */
  private hostNamedIn(message: string): string | undefined {
    return this.longestKnown((host) => message.startsWith(`${host}: `));
  }

  /** The longest known host name that fits ("h1-a" before "h1"). */
  private longestKnown(fits: (host: string) => boolean): string | undefined {
    return [...this.known].filter(fits).sort((a, b) => b.length - a.length)[0];
  }
}

/**
 * What a failed CLI run says went wrong, in one line: its first `error:` line, else its last
 * line. The Automation API's error carries the whole output; only that line is logged.
 */
export function commandErrorLine(err: unknown): string {
  const text = String((err as Error)?.message ?? err);
  if (/spawn \S+ ENOENT/.test(text)) return "the command was not found on the PATH";
  // The Automation API's message is "code: N\n stdout: ...\n stderr: ...".
  const lines = text.split("\n").map((l) => cleanMessage(l).replace(/^(stdout|stderr): /, "")).filter(Boolean);
  return lines.find((l) => l.startsWith("error: "))?.slice("error: ".length) ?? lines[lines.length - 1] ?? "failed";
}

/** True when the counts hold any change at all. */
export function anyChange(changes: ChangeCounts): boolean {
  return Object.values(changes).some((n) => (n ?? 0) > 0);
}

function addOne(counts: ChangeCounts, op: OpType): void {
  counts[op] = (counts[op] ?? 0) + 1;
}
