/** bin/kmod-fleet on a miniature tree written to a temporary directory: output and exit codes. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MINI_TREE } from "./tree";

const BIN = path.resolve(__dirname, "../../../bin/kmod-fleet");
let dir: string;

function run(...args: string[]) {
  // The default parse cache lives under XDG_CACHE_HOME: keep it in the test's folder.
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "xdg-cache") };
  const r = spawnSync(BIN, args, { encoding: "utf8", env, input: "[1] drm: Unknown symbol hdmi_init (err -2)\n" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-cli-"));
  for (const [p, text] of Object.entries(MINI_TREE)) {
    fs.mkdirSync(path.join(dir, "src", path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(dir, "src", p), text);
  }
  fs.cpSync(path.join(dir, "src"), path.join(dir, "undecided"), { recursive: true });
  fs.writeFileSync(path.join(dir, "undecided/drivers/video/Makefile"), "ifneq ($(shell true),)\nobj-$(CONFIG_HDMI) += hdmi.o\nendif\n");
  fs.writeFileSync(path.join(dir, "config"), "CONFIG_MODULES=y\n");
  fs.writeFileSync(path.join(dir, "config.gz"), zlib.gzipSync("CONFIG_MODULES=y\nCONFIG_FB=y\n"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("bin/kmod-fleet", () => {
  it("preflight: a dead end exits 1 with a readable report", () => {
    const r = run("preflight", "--source", path.join(dir, "src"), "--config", path.join(dir, "config"), "CONFIG_I915=m");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/DEAD END/);
    expect(r.out).toMatch(/HDMI \(bool\) selected by DRM/);
  });

  it("preflight --json on a gzipped config: ok exits 0 (--arch takes uname -m names)", () => {
    const r = run("preflight", "--source", path.join(dir, "src"), "--config", path.join(dir, "config.gz"), "--arch", "x86_64", "--json", "I915=m");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ verdict: "ok", added: [{ option: "DRM", value: "m" }] });
  });

  it("preflight --sig-enforced says unsigned modules will be refused and what to do", () => {
    const r = run("preflight", "--source", path.join(dir, "src"), "--config", path.join(dir, "config.gz"), "--sig-enforced", "I915=m");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/note: the host refuses unsigned modules \(--sig-enforced\), .* modprobe will refuse them\. To load them, sign them with a key the kernel trusts; .* or boot the host with Secure Boot and lockdown off/);
  });

  it("preflight: an undecidable Kbuild line exits 3 and names it", () => {
    const r = run("preflight", "--source", path.join(dir, "undecided"), "--config", path.join(dir, "config"), "I915=m");
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/UNKNOWN/);
    expect(r.out).toMatch(/unknown at drivers\/video\/Makefile:1: ifneq \(\$\(shell true\),\)/);
  });

  it("doctor reads dmesg from stdin", () => {
    const r = run("doctor", "--source", path.join(dir, "src"), "--config", path.join(dir, "config"), "--dmesg", "-");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/HDMI is a bool that is off/);
  });

  it("caches the parsed tree under XDG_CACHE_HOME or --cache, not with --no-cache; the answer stays the same", () => {
    const xdg = path.join(dir, "xdg-cache/kmod-fleet/parsed");
    const entries = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).filter((f) => String(f).endsWith(".manifest")) : []);
    fs.rmSync(xdg, { recursive: true, force: true });
    const args = ["preflight", "--source", path.join(dir, "src"), "--config", path.join(dir, "config"), "I915=m"];
    const first = run(...args);
    expect(entries(xdg)).toHaveLength(1);
    expect(run(...args)).toEqual(first);
    run(...args, "--cache", path.join(dir, "own-cache"));
    expect(entries(path.join(dir, "own-cache"))).toHaveLength(1);
    run(...args, "--no-cache", "--source", path.join(dir, "undecided"));
    expect(entries(xdg)).toHaveLength(1);
  });

  it.each([
    [["preflight", "--source", "s", "--cache", "c", "--no-cache", "--config", "c", "I915=m"], /--cache and --no-cache exclude each other/],
    [["preflight", "--config", "x", "I915=m"], /--source is required/],
    [["preflight", "--source", "/nonexistent", "--config", "x", "I915=m"], /no Kconfig there/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["preflight", "--source", "s", "--config", "c", "I915=q"], /'I915=q' is not OPTION=m\|y\|n/],
  ])("usage error %j exits 2 with a message", (args, msg) => {
    const r = run(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err).toMatch(/exit status: 0 ok or no-op .* 1 dead end/s);
  });
});
