// The pure parts of the reboot gate: its config (durations, defaults, refusals by path),
// the state a host reports (components/providers/rebootGate/rebootHold.ts) and the line a preview shows for it.
import { describe, expect, it } from "vitest";
import { execFileSync } from "child_process";
import * as path from "path";
import { DEFAULT_UPDATES, resolveFleetConfig } from "../../config/resolve";
import { durationSeconds } from "../../config/updates";
import { describeRebootHold, parseRebootHold } from "../../components/providers/rebootGate/rebootHold";
import { KEY, problemsOf } from "./fixtures/badConfigs";

const fleet = (updates?: unknown) => ({ hosts: [{ name: "h2", address: "x", hostKey: KEY }], ...(updates === undefined ? {} : { updates }) });

describe("the updates config", () => {
  it("defaults to a gate that holds at most 6 hours, then proceeds", () => {
    expect(resolveFleetConfig(fleet()).updates).toEqual({ gate: true, maxRebootHoldSeconds: 21600, afterMaxHold: "proceed", buildAhead: false });
    expect(DEFAULT_UPDATES.maxRebootHoldSeconds).toBe(6 * 3600);
  });

  it("takes durations in s, m, h, d and their sums", () => {
    expect(resolveFleetConfig(fleet({ maxRebootHold: "1h30m", afterMaxHold: "hold", gate: false })).updates).toEqual({ gate: false, maxRebootHoldSeconds: 5400, afterMaxHold: "hold", buildAhead: false });
    expect([durationSeconds("90s"), durationSeconds("2d"), durationSeconds("6h"), durationSeconds("6 h"), durationSeconds("-1h"), durationSeconds("")]).toEqual([90, 172800, 21600, undefined, undefined, undefined]);
  });

  it("refuses what is not a hold, every problem at once, by path", () => {
    expect(problemsOf(fleet({ maxRebootHold: "forever", afterMaxHold: "reboot", extra: 1 })).sort()).toEqual([
      'updates.afterMaxHold: Invalid option: expected one of "proceed"|"hold"',
      "updates.maxRebootHold: expected a duration such as 90s, 30m, 6h, 2d or 1h30m",
      'updates: Unrecognized key: "extra"',
    ]);
    expect(problemsOf(fleet({ maxRebootHold: "31d" }))).toEqual(["updates.maxRebootHold: expected at most 30d: a security update must not wait longer"]);
    expect(problemsOf(fleet({ maxRebootHold: "0s" }))).toEqual(["updates.maxRebootHold: expected at least 1s"]);
  });
});

describe("the hold a host reports", () => {
  it("reads gate.sh's state", () => {
    const hold = parseRebootHold("state=held\nversion=3975.2.1\nkernel=6.6.60-flatcar\nsince=1796529600\nwaiting=kmod-pair gpu\nchecked=1796529630\n");
    expect(hold).toEqual({ state: "held", version: "3975.2.1", kernel: "6.6.60-flatcar", since: "2026-12-06T04:00:00Z", waiting: ["kmod-pair", "gpu"] });
    expect(describeRebootHold("h2", hold as any)).toBe("h2: reboot into 3975.2.1 (kernel 6.6.60-flatcar) held since 2026-12-06T04:00:00Z: waiting for kmod-pair, gpu");
  });

  it("no state: no gate; nothing staged: nothing to say", () => {
    expect(parseRebootHold("units=true\nupdateConf=true\n")).toBeUndefined();
    const idle = parseRebootHold("state=idle\nchecked=1\n");
    expect(idle).toMatchObject({ state: "idle", waiting: [] });
    expect(describeRebootHold("h2", idle as any)).toBeUndefined();
  });

  it("says when the reboot is allowed, and when it was allowed without a set", () => {
    const released = parseRebootHold("state=released\nversion=3975.2.1\nkernel=6.6.60-flatcar\nsince=1\nwaiting=\n") as any;
    expect(describeRebootHold("h3", released)).toBe("h3: reboot into 3975.2.1 (kernel 6.6.60-flatcar) allowed: every module set is installed for it");
    const proceeded = parseRebootHold("state=proceeded\nversion=3975.2.1\nkernel=6.6.60-flatcar\nsince=1796529600\nwaiting=kmod-pair\n") as any;
    expect(describeRebootHold("h2", proceeded)).toBe("h2: reboot into 3975.2.1 (kernel 6.6.60-flatcar) allowed after the longest hold (since 2026-12-06T04:00:00Z), without kmod-pair");
    const unknown = parseRebootHold("state=proceeded\nversion=3975.2.1\nkernel=\nsince=1796529600\nwaiting=kmod-pair\n") as any;
    expect(describeRebootHold("h2", unknown)).toBe("h2: reboot into 3975.2.1 (kernel unknown) allowed: its kernel cannot be read before the reboot, so kmod-pair cannot be checked");
  });

  it("a value gate.sh never writes is an error, not a state", () => {
    const r = parseRebootHold("state=held\nversion=../../x\nsince=yesterday\nwaiting=Bad;rm\n");
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toBe("the reboot gate's state cannot be read (version, since, waiting)");
    expect(parseRebootHold("state=open\n")).toBeInstanceOf(Error);
  });
});

describe("the providers Pulumi serializes", () => {
  // A provider's closure goes into state; a module it captures that imports the config
  // schema brings zod, which Pulumi cannot serialize ("package.json export path ... not found").
  it("the facts and the gate providers serialize, without the config schema", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", path.join(__dirname, "fixtures", "serializeProviders.ts")], { encoding: "utf8", timeout: 120_000 });
    expect(out.trim().split("\n")).toEqual(["hostFacts ok", "rebootGate ok"]);
  }, 120_000);
});
