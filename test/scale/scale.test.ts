// The scale benchmark at 10 simulated hosts, as a user runs it (`npm run bench:scale -- --hosts 10`):
// a converging up and a no-op `up --refresh` through the real Pulumi CLI. The benchmark
// checks each host over SSH itself; this asserts what its last line reports. The larger
// sizes (50, 100) are the benchmark's alone: their figures are in the README.
import { describe, expect, it } from "vitest";
import { spawnSync } from "child_process";
import { repoRoot } from "../../dev/toolchain/env";

describe("npm run bench:scale -- --hosts 10", () => {
  it("converges every host, the no-op refresh changes nothing, and the last line is the figures", () => {
    const r = spawnSync("npm", ["run", "-s", "bench:scale", "--", "--hosts", "10"], { cwd: repoRoot, encoding: "utf8", timeout: 600_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const figures = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(figures).toMatchObject({ hosts: 10, convergedHosts: 10, noopRefreshChanges: 0 });
    for (const field of ["convergeSeconds", "noopRefreshSeconds", "peakRssMB", "sshConnections"]) expect(figures[field], field).toBeGreaterThan(0);
    // One connection per host for the program's probe and one for the providers, each run.
    expect(figures.sshConnections).toBeLessThanOrEqual(4 * 10);
    // facts, overlay, install and load per host, and the build: nothing else changed or was left over.
    expect(figures.noopRefreshUnchanged).toBeGreaterThanOrEqual(4 * 10 + 1);
    expect(figures.peakRssMB).toBeLessThan(1024);
  });
});
