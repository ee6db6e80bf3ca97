// kmod-fleet watch: per-host outcomes from the engine's events. The events are shaped as the
// engine sends them (recorded from a preview and an up of a simulated fleet with one host on a
// closed port): steps carry their parent's URN, the facts of a host that cannot be probed fail
// their check with no step, and the program's own messages carry no URN.
import { describe, expect, it } from "vitest";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { OperationEvents, cleanMessage, commandErrorLine } from "../../bin/watchEvents";

const PREFIX = "urn:pulumi:prod::kmod-fleet::";
const FLEET = `${PREFIX}kmod-fleet:index:Fleet::fleet`;
const hostUrn = (h: string) => `${PREFIX}kmod-fleet:index:Fleet$kmod-fleet:index:Host::${h}`;
const resUrn = (name: string, type = "ModuleInstall") => `${PREFIX}kmod-fleet:index:Fleet$kmod-fleet:index:Host$pulumi-nodejs:dynamic/kmod-fleet:${type}::${name}`;
const BUILD = `${PREFIX}kmod-fleet:index:Fleet$pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild::build-kmod-pair-6.1.0-x86_64`;

let seq = 0;
const ev = (e: Partial<EngineEvent>): EngineEvent => ({ sequence: seq++, timestamp: 0, ...e });
function step(op: string, urn: string, parent: string): EngineEvent[] {
  const metadata = { op, urn, type: "", provider: "", new: { type: "", urn, id: "", parent, inputs: {}, outputs: {}, provider: "" } } as any;
  return [ev({ resourcePreEvent: { metadata } }), ev({ resOutputsEvent: { metadata } })];
}
const hostSteps = (h: string, op = "same") => step(op, hostUrn(h), FLEET);
const diag = (severity: "info" | "warning" | "error", message: string, urn?: string) => ev({ diagnosticEvent: { severity, message: `${message}\n`, color: "never", urn } });

function report(events: EngineEvent[]) {
  const o = new OperationEvents();
  for (const e of events) o.add(e);
  return o.result();
}

describe("per-host outcomes from engine events", () => {
  it("counts each host's changes from its steps, and the fleet's builds in the total only", () => {
    const r = report([
      ...hostSteps("h1"),
      ...hostSteps("h2"),
      ...step("create", resUrn("h1-kmod-pair-install-b"), hostUrn("h1")),
      ...step("update", resUrn("h1-facts", "HostFacts"), hostUrn("h1")),
      ...step("same", resUrn("h2-facts", "HostFacts"), hostUrn("h2")),
      ...step("refresh", resUrn("h2-overlay", "ModulesOverlay"), hostUrn("h2")),
      ...step("create", BUILD, FLEET),
    ]);
    expect([...r.hosts]).toEqual([
      ["h1", { outcome: "ok", changes: { create: 1, update: 1 } }],
      ["h2", { outcome: "ok", changes: {} }],
    ]);
    expect(r.changes).toEqual({ create: 2, update: 1 });
    expect(r.fleetErrors).toEqual([]);
  });

  it("a replacement counts once, as replace", () => {
    const urn = resUrn("h1-kmod-pair-install-a");
    const r = report([...hostSteps("h1"), ...step("create-replacement", urn, hostUrn("h1")), ...step("replace", urn, hostUrn("h1")), ...step("delete-replaced", urn, hostUrn("h1"))]);
    expect(r.hosts.get("h1")!.changes).toEqual({ replace: 1 });
  });

  it("a host whose facts cannot be probed is unreachable, with the reason; the other host is ok", () => {
    const r = report([
      ...hostSteps("h1", "create"),
      ...hostSteps("h3", "create"),
      diag("warning", "h3: HOST KEY VERIFICATION IS OFF for this host (insecureIgnoreHostKey: true): ..."),
      ...step("create", resUrn("h1-kmod-pair-load", "ModuleLoad"), hostUrn("h1")),
      diag("error", "pulumi-nodejs:dynamic/kmod-fleet:HostFacts resource 'h3-facts' has a problem: could not be probed, so nothing of it changed in this run (...): cannot reach root@127.0.0.1:4 after 1 attempt(s) in 0 s: connect ECONNREFUSED", resUrn("h3-facts", "HostFacts")),
    ]);
    expect(r.hosts.get("h1")).toEqual({ outcome: "ok", changes: { create: 2 } });
    expect(r.hosts.get("h3")).toEqual({
      outcome: "unreachable",
      changes: { create: 1 },
      message: "h3-facts: could not be probed, so nothing of it changed in this run (...): cannot reach root@127.0.0.1:4 after 1 attempt(s) in 0 s: connect ECONNREFUSED",
    });
  });

  it("with allowUnreachableHosts, the program's warning (no URN, named by its prefix) makes the host unreachable", () => {
    const r = report([diag("warning", "h1-a: could not be probed, so nothing of it changes in this run: timed out"), ...hostSteps("h1"), ...hostSteps("h1-a")]);
    expect(r.hosts.get("h1")!.outcome).toBe("ok");
    expect(r.hosts.get("h1-a")).toMatchObject({ outcome: "unreachable", message: "h1-a: could not be probed, so nothing of it changes in this run: timed out" });
  });

  it("a failed step fails its host alone, with the error that names it; a host named like another's prefix is told apart", () => {
    const load = resUrn("h1-a-kmod-pair-load", "ModuleLoad");
    const metadata = { op: "update", urn: load, type: "", provider: "", new: { type: "", urn: load, id: "", parent: hostUrn("h1-a"), inputs: {}, outputs: {}, provider: "" } } as any;
    const r = report([
      ...hostSteps("h1"),
      ...hostSteps("h1-a"),
      ev({ resourcePreEvent: { metadata } }),
      diag("error", "h1-a: modprobe pair_consumer failed: Unknown symbol pair_get", load),
      ev({ resOpFailedEvent: { metadata, status: 1, steps: 0 } }),
    ]);
    expect(r.hosts.get("h1")).toEqual({ outcome: "ok", changes: {} });
    expect(r.hosts.get("h1-a")).toEqual({ outcome: "failed", changes: {}, message: "h1-a: modprobe pair_consumer failed: Unknown symbol pair_get" });
  });

  it("a failed step with no message of its own still fails its host", () => {
    const urn = resUrn("h2-overlay", "ModulesOverlay");
    const metadata = { op: "create", urn, type: "", provider: "", new: { type: "", urn, id: "", parent: hostUrn("h2"), inputs: {}, outputs: {}, provider: "" } } as any;
    const r = report([...hostSteps("h2"), ev({ resOpFailedEvent: { metadata, status: 1, steps: 0 } })]);
    expect(r.hosts.get("h2")).toMatchObject({ outcome: "failed", message: "a step on this host failed" });
  });

  it("an error that names no host is the fleet's; info lines and other hosts' warnings change no outcome", () => {
    const r = report([
      ...hostSteps("h1"),
      diag("info", "h1: reading host facts"),
      diag("warning", "h1: HOST KEY VERIFICATION IS OFF"),
      diag("error", "invalid kmod-fleet:fleet config (1 problem)\n  hosts[0].hostKey: required", `${PREFIX}pulumi:pulumi:Stack::kmod-fleet-prod`),
    ]);
    expect(r.hosts.get("h1")!.outcome).toBe("ok");
    expect(r.fleetErrors).toEqual(["invalid kmod-fleet:fleet config (1 problem)\n  hosts[0].hostKey: required"]);
  });

  it("messages lose colour codes and never carry a private key", () => {
    expect(cleanMessage("\u001b[31merror\u001b[0m: h1: bad\n")).toBe("error: h1: bad");
    expect(cleanMessage("h1: key -----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY----- rejected")).toBe("h1: key [private key] rejected");
  });

  it("a failed CLI run is logged as its error line, not its whole output", () => {
    const err = new Error("code: 255\n stdout: Updating (prod):\n  ... lots of output ...\n stderr: error: the stack is currently locked by 1 lock(s)\nerror: second\n");
    expect(commandErrorLine(err)).toBe("the stack is currently locked by 1 lock(s)");
    expect(commandErrorLine(new Error("code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT"))).toBe("the command was not found on the PATH");
    expect(commandErrorLine(new Error("code: 1\n stderr: error: open /srv/x: ENOENT: no such file"))).toBe("open /srv/x: ENOENT: no such file");
  });
});
