// Choosing the test fleet's kernels from an apt index: table tests on made-up indexes.
import { describe, expect, it } from "vitest";
import { chooseKernels, compareDebianVersions, parseMadison, parseOverride } from "../../dev/testbed/debianKernels";

const index = (entries: Record<string, string[]>) => new Map(Object.entries(entries));

describe("chooseKernels", () => {
  it("takes the two newest ABIs whose image, headers and linux-source share a version, installed first", () => {
    const got = chooseKernels(
      index({
        "linux-source-6.1": ["6.1.192-3", "6.1.192-2", "6.1.176-1"],
        "linux-image-6.1.0-50-cloud-amd64": ["6.1.176-1"],
        "linux-headers-6.1.0-50-cloud-amd64": ["6.1.176-1"],
        "linux-image-6.1.0-56-cloud-amd64": ["6.1.192-2"],
        "linux-headers-6.1.0-56-cloud-amd64": ["6.1.192-2"],
        "linux-image-6.1.0-57-cloud-amd64": ["6.1.192-3"],
        "linux-headers-6.1.0-57-cloud-amd64": ["6.1.192-3"],
      }),
    );
    expect(got).toEqual([
      { release: "6.1.0-56-cloud-amd64", debianVersion: "6.1.192-2" },
      { release: "6.1.0-57-cloud-amd64", debianVersion: "6.1.192-3" },
    ]);
  });

  it("skips an ABI whose linux-source is gone, and orders ABIs numerically (9 < 10)", () => {
    const got = chooseKernels(
      index({
        "linux-source-6.1": ["6.1.100-1", "6.1.90-1"],
        "linux-image-6.1.0-9-cloud-amd64": ["6.1.90-1"],
        "linux-headers-6.1.0-9-cloud-amd64": ["6.1.90-1"],
        "linux-image-6.1.0-10-cloud-amd64": ["6.1.100-1"],
        "linux-headers-6.1.0-10-cloud-amd64": ["6.1.100-1"],
        "linux-image-6.1.0-11-cloud-amd64": ["6.1.110-1"],
        "linux-headers-6.1.0-11-cloud-amd64": ["6.1.110-1"],
      }),
    );
    expect(got.map((k) => k.release)).toEqual(["6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64"]);
  });

  it("ignores other flavours and the -unsigned images", () => {
    const got = chooseKernels(
      index({
        "linux-source-6.1": ["6.1.1-1", "6.1.2-1"],
        "linux-image-6.1.0-1-cloud-amd64": ["6.1.1-1"],
        "linux-headers-6.1.0-1-cloud-amd64": ["6.1.1-1"],
        "linux-image-6.1.0-2-cloud-amd64": ["6.1.2-1"],
        "linux-headers-6.1.0-2-cloud-amd64": ["6.1.2-1"],
        "linux-image-6.1.0-3-amd64": ["6.1.3-1"],
        "linux-image-6.1.0-3-cloud-amd64-unsigned": ["6.1.3-1"],
      }),
    );
    expect(got.map((k) => k.release)).toEqual(["6.1.0-1-cloud-amd64", "6.1.0-2-cloud-amd64"]);
  });

  it("says what is missing when fewer than two kernels are complete", () => {
    const run = () =>
      chooseKernels(
        index({
          "linux-source-6.1": ["6.1.192-3"],
          "linux-image-6.1.0-56-cloud-amd64": ["6.1.192-2"],
          "linux-headers-6.1.0-56-cloud-amd64": ["6.1.192-2"],
          "linux-image-6.1.0-57-cloud-amd64": ["6.1.192-3"],
          "linux-headers-6.1.0-57-cloud-amd64": ["6.1.192-3"],
        }),
      );
    expect(run).toThrow(/lists 1 complete 6\.1 cloud-amd64 kernel\(s\), the test fleet needs 2/);
    expect(run).toThrow(/6\.1\.0-56-cloud-amd64 \(image 6\.1\.192-2, headers 6\.1\.192-2, no linux-source-6\.1 at the same version\)/);
    expect(run).toThrow(/TESTBED_KERNELS/);
  });
});

describe("the index and the override", () => {
  it("reads apt-cache madison output", () => {
    const text = [
      "linux-source-6.1 |  6.1.192-3 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages",
      "linux-source-6.1 |  6.1.176-1 | http://deb.debian.org/debian bookworm/main amd64 Packages",
      "linux-image-6.1.0-57-cloud-amd64 |  6.1.192-3 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages",
      "",
    ].join("\n");
    expect(parseMadison(text)).toEqual(new Map([["linux-source-6.1", ["6.1.192-3", "6.1.176-1"]], ["linux-image-6.1.0-57-cloud-amd64", ["6.1.192-3"]]]));
  });

  it("takes TESTBED_KERNELS in order and refuses malformed or single entries", () => {
    expect(parseOverride("6.1.0-50-cloud-amd64=6.1.176-1, 6.1.0-56-cloud-amd64=6.1.192-2")).toEqual([
      { release: "6.1.0-50-cloud-amd64", debianVersion: "6.1.176-1" },
      { release: "6.1.0-56-cloud-amd64", debianVersion: "6.1.192-2" },
    ]);
    expect(() => parseOverride("6.1.0-50-cloud-amd64")).toThrow(/is not <release>=<debian version>/);
    expect(() => parseOverride("6.1.0-50-cloud-amd64=6.1.176-1")).toThrow(/at least two distinct kernels/);
    expect(() => parseOverride("$(reboot)=1,a=2")).toThrow(/is not <release>=<debian version>/);
  });

  it.each([
    ["6.1.192-3", "6.1.192-2", 1],
    ["6.1.192-2", "6.1.192-2", 0],
    ["6.1.99-1", "6.1.100-1", -1],
    ["6.1.192-1~bpo11+1", "6.1.192-1", -1],
    ["6.1.192-1+deb12u1", "6.1.192-1", 1],
  ])("compares Debian versions: %s vs %s", (a, b, want) => expect(compareDebianVersions(a, b)).toBe(want));
});
