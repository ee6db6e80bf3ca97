/** bin/kmod-fleet on a miniature tree written to a temporary directory: output and exit codes. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MINI_TREE } from "./tree";
import { ARCH_TREE } from "./archTree";

const BIN = path.resolve(__dirname, "../../../bin/kmod-fleet");
let dir: string;

function run(...args: string[]) {
  // The default parse cache lives under XDG_CACHE_HOME: keep it in the test's folder.
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, "xdg-cache") };
  // In the test's folder, so that a value taken as a folder name would show there.
  const r = spawnSync(BIN, args, { encoding: "utf8", env, cwd: dir, input: "[1] drm: Unknown symbol hdmi_init (err -2)\n" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function writeTree(name: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, name, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(dir, name, p), text);
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-cli-"));
  writeTree("src", MINI_TREE);
  writeTree("arches", ARCH_TREE);
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
    [["preflight", "--source", "/nonexistent", "--config", "x", "I915=m"], /no Kconfig file there/],
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["preflight", "--source", "s", "--config", "c", "I915=q"], /'I915=q': not OPTION=m\|y\|n/],
  ])("usage error %j exits 2 with a message", (args, msg) => {
    const r = run(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });
});

describe("bin/kmod-fleet: what it refuses, its help and its version", () => {
  const src = () => ["--source", path.join(dir, "src"), "--config", path.join(dir, "config")];
  const arches = () => ["--source", path.join(dir, "arches"), "--config", path.join(dir, "config")];
  /** A usage error: exit 2, nothing on stdout, the message and where the command's help is, nothing more. */
  const refused = (r: ReturnType<typeof run>, msg: RegExp, command = "preflight") => {
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    const lines = r.err.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(msg);
    expect(lines[1]).toBe(`see 'kmod-fleet ${command} --help'`);
  };

  it("an option no Kconfig defines is a usage error naming every such option, with near names", () => {
    refused(run("preflight", ...src(), "NOT_AN_OPTION=m", "DRM=m", "I91=m"), /^kmod-fleet: no Kconfig file of this tree defines NOT_AN_OPTION, I91 \(did you mean I915\?\)$/);
  });

  it.each([
    ["binary data", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff, 0xfe]), /--config .*: binary data, not a kernel \.config/],
    ["text without CONFIG_ lines", "hello\nworld\n", /--config .*: no CONFIG_ lines: not a kernel \.config/],
  ])("a config that is %s is refused", (_, content, msg) => {
    fs.writeFileSync(path.join(dir, "not-a-config"), content);
    refused(run("preflight", "--source", path.join(dir, "src"), "--config", path.join(dir, "not-a-config"), "I915=m"), msg);
  });

  it("a fake .gz config, a config folder or a Kconfig folder is a clear error, never a stack trace", () => {
    fs.writeFileSync(path.join(dir, "fake.gz"), "CONFIG_MODULES=y\n");
    refused(run("preflight", "--source", path.join(dir, "src"), "--config", path.join(dir, "fake.gz"), "I915=m"), /--config .*fake\.gz: cannot decompress with gzip \(.*\)$/);
    refused(run("preflight", "--source", path.join(dir, "src"), "--config", dir, "I915=m"), /--config .*: is a folder, not a file$/);
    fs.mkdirSync(path.join(dir, "dirtree/Kconfig"), { recursive: true });
    refused(run("preflight", "--source", path.join(dir, "dirtree"), "--config", path.join(dir, "config"), "I915=m"), /--source .*dirtree: no Kconfig file there/);
  });

  it("reads the config from a pipe (--config <(zcat config.gz))", () => {
    const r = spawnSync("bash", ["-c", `"${BIN}" preflight --source "${path.join(dir, "src")}" --config <(zcat "${path.join(dir, "config.gz")}") I915=m`], { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: path.join(dir, "xdg-cache") } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^preflight I915=m: OK/);
  });

  it("-h or --help anywhere prints that command's help and exits 0 without analysing", () => {
    for (const args of [["preflight", "FOO=m", "-h"], ["preflight", "--help"], ["help", "preflight"]]) {
      const r = run(...args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage:\n {2}kmod-fleet preflight --source/);
      expect(r.out).toMatch(/exit status: 0 ok or no-op, 1 dead end .* or not available on this\s+architecture/s);
      expect(r.out).not.toMatch(/kmod-fleet doctor/);
    }
    const d = run("doctor", "--help");
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/^usage:\n {2}kmod-fleet doctor --source/);
    expect(d.out).not.toMatch(/kmod-fleet preflight/);
    const g = run("--help");
    expect(g.out).toMatch(/^usage:\n {2}kmod-fleet <command>/);
    expect(g.out).toMatch(/preflight .*\n\s+doctor /);
  });

  it("a flag's value that looks like an option is refused, and creates nothing", () => {
    refused(run("preflight", "--cache", "--no-cache", "FOO=m"), /--cache needs a value, not '--no-cache'/);
    expect(fs.existsSync(path.join(dir, "--no-cache"))).toBe(false);
    refused(run("preflight", ...src(), "--cache", path.join(dir, "c"), "--no-cache", "I915=m"), /--cache and --no-cache exclude each other/);
    refused(run("doctor", ...src(), "--dmesg", "--json"), /--dmesg needs a value, not '--json'/, "doctor");
  });

  it.each(["../../etc", "bogus", "X86"])("--arch %s is refused, listing the accepted names", (arch) => {
    refused(run("preflight", ...src(), "--arch", arch, "I915=m"), new RegExp(`--arch ${arch.replace(/\./g, "\\.")}: unknown architecture; accepted: (?=.* x86[ ;])(?=.* arm64 )(?=.* riscv )(?=.* x86_64 )(?=.* aarch64 )(?=.* riscv64\\b)`));
  });

  it("--arch maps uname -m names to arch/ folders and needs that folder's Kconfig in the tree", () => {
    refused(run("preflight", ...src(), "--arch", "riscv64", "I915=m"), /--arch riscv64: this tree has no arch\/riscv\/Kconfig/);
    const r = run("preflight", ...arches(), "--arch", "riscv64", "RISCV_SBI_X=m");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^preflight RISCV_SBI_X=m: OK/);
  });

  it("an option of another architecture, or depending on one, is NOT AVAILABLE (exit 1), not a dead end", () => {
    const dep = run("preflight", ...arches(), "--arch", "aarch64", "GPU_X86=m");
    expect(dep.code).toBe(1);
    expect(dep.out).toBe("preflight GPU_X86=m: NOT AVAILABLE on arm64: this architecture cannot have it, whatever the kernel\n  not available: GPU_X86 depends on X86 && PCI; X86 is not defined on arm64 (an option of x86)\n");
    const own = run("preflight", ...arches(), "--arch", "arm64", "X86_MSR=m");
    expect(own.code).toBe(1);
    expect(own.out).toMatch(/not available: X86_MSR is an option of x86 \(arch\/x86\/Kconfig:4\); arm64's Kconfig does not define it/);
    expect(JSON.parse(run("preflight", ...arches(), "--arch", "arm64", "--json", "THERM_MAC=m").out)).toMatchObject({ verdict: "not-available", arch: "arm64", added: [] });
  });

  it("--version prints the version in package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8"));
    const r = run("--version");
    expect(r.code).toBe(0);
    expect(r.out).toBe(`kmod-fleet ${pkg.version}\n`);
  });
});
