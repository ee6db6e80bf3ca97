/**
 * The kernel test data is resolved from the package index at test time (issue 10): this
 * runs the resolution against the real index, so a day when Debian stops serving a
 * generation's source, configs or cloud headers fails here, naming the missing packages.
 */
import { execFileSync } from "child_process";
import { describe, expect, it } from "vitest";
import { GENERATIONS, SCRIPT, resolveFromIndex } from "./data";

describe("kernel test data from the package index", () => {
  it("each generation has a source, config (amd64 and arm64) and cloud headers set of one Debian version", () => {
    const lines = resolveFromIndex().trim().split("\n");
    console.log(lines.join("\n"));
    expect(lines.map((l) => l.split(" ")[0])).toEqual([...GENERATIONS]);
    for (const l of lines) {
      const [gen, version, source, config, headers] = l.split(" ");
      expect(source).toBe(`linux-source-${gen}`);
      expect(config).toBe(`linux-config-${gen}`);
      expect(version).toMatch(new RegExp(`^${gen.replace(".", "\\.")}\\.\\d+-\\d+`));
      // The ABI is whatever that upload's headers carry; "none" would mean Debian has no cloud flavour.
      expect(headers, `${gen}: cloud headers`).toMatch(/^linux-headers-.+-cloud-amd64$/);
    }
  }, 300_000);

  it("a set the index does not list fails with the names of the missing packages", () => {
    let message = "";
    try {
      execFileSync("sh", [SCRIPT, "resolve", "6.1"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KERNEL_DEB_VERSION_6_1: "6.1.0-0" } });
    } catch (err) {
      message = (err as { stderr: Buffer }).stderr.toString();
    }
    expect(message).toMatch(/6\.1 \(bookworm\): no usable package set; missing: linux-config-6\.1=6\.1\.0-0/);
  }, 300_000);
});
