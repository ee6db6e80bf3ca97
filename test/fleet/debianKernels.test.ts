// The test fleet's kernels come from what Debian's index lists today: this asks the real
// index (needs a fresh `apt-get update`), and fails saying which packages are missing if
// Debian ever stops serving two complete cloud kernels.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { chooseKernels, packagesOf, readIndex } from "../../dev/testbed/debianKernels";

describe("test kernels from the apt index", () => {
  it("finds two cloud kernels whose image, headers and linux-source the index serves at one version", () => {
    const kernels = chooseKernels(readIndex());
    expect(kernels).toHaveLength(2);
    expect(kernels[0].release).not.toBe(kernels[1].release);
    for (const k of kernels) {
      for (const pkg of packagesOf(k)) {
        // apt-cache show fails (exit 100) for a version the index does not list.
        const shown = execFileSync("apt-cache", ["show", `${pkg}=${k.debianVersion}`], { encoding: "utf8" });
        expect(shown).toMatch(new RegExp(`^Version: ${k.debianVersion.replace(/[.+~]/g, "\\$&")}$`, "m"));
      }
    }
  });
});
