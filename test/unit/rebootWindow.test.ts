// The test fleet's locksmithd stand-in decides, like Flatcar's, whether a staged update may
// reboot the host now: REBOOT_STRATEGY=reboot inside LOCKSMITHD_REBOOT_WINDOW_START for
// _LENGTH. Its window rule runs here in bash on this machine, at chosen instants (UTC).
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../dev/toolchain/env";

const SCRIPT = path.join(repoRoot, "dev", "testbed", "images", "host-files", "usr", "lib", "testbed", "locksmithd.sh");

function inWindow(start: string, length: string, at: string): boolean {
  const epoch = String(Date.parse(at) / 1000);
  const r = spawnSync("bash", [SCRIPT, "in-window", start, length, epoch], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } });
  if (r.status !== 0 && r.status !== 1) throw new Error(`locksmithd.sh in-window failed: ${r.stderr}${r.stdout}`);
  return r.status === 0;
}

describe("the reboot window of the test fleet's reboot manager", () => {
  it("a daily window, across midnight", () => {
    expect(inWindow("23:00", "1h", "2026-12-06T23:30:00Z")).toBe(true);
    expect(inWindow("23:00", "1h30m", "2026-12-07T00:20:00Z")).toBe(true);
    expect(inWindow("23:00", "1h", "2026-12-07T00:30:00Z")).toBe(false);
    expect(inWindow("23:00", "1h", "2026-12-06T22:59:00Z")).toBe(false);
  });

  it("a weekly window names its day (6 Dec 2026 is a Sunday)", () => {
    expect(inWindow("Sun 03:00", "2h", "2026-12-06T04:00:00Z")).toBe(true);
    expect(inWindow("Mon 03:00", "2h", "2026-12-06T04:00:00Z")).toBe(false);
    expect(inWindow("Sat 23:00", "6h", "2026-12-06T04:00:00Z")).toBe(true);
    expect(inWindow("sat 23:00", "4h", "2026-12-06T04:00:00Z")).toBe(false);
  });

  it("no window is any time; a malformed one is never", () => {
    expect(inWindow("", "", "2026-12-06T04:00:00Z")).toBe(true);
    expect(inWindow("23:00", "an hour", "2026-12-06T23:30:00Z")).toBe(false);
    expect(inWindow("at night", "1h", "2026-12-06T23:30:00Z")).toBe(false);
  });
});
