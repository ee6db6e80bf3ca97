// The Kconfig tree a builder sends is unpacked on this machine without any link or path
// that leaves the folder: a host that sends `Kconfig -> /etc/hostname` must not make the
// analysis read this machine's file, nor a `../x` entry write next to the folder.
import { afterEach, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { execFileSync } from "child_process";
import { unpackKernelTree } from "../../components/providers/kernelTreeArchive";

/** One ustar entry, as any tar program could write it: type 0 file, 1 hard link, 2 symlink, 5 folder. */
function entry(name: string, type: "0" | "1" | "2" | "5", data = "", linkName = ""): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100, "latin1");
  h.write("0000000\0", 108, "latin1");
  h.write("0000000\0", 116, "latin1");
  h.write(`${Buffer.byteLength(data).toString(8).padStart(11, "0")}\0`, 124, "latin1");
  h.write("00000000000\0", 136, "latin1");
  h.write(type, 156, "latin1");
  h.write(linkName, 157, 100, "utf8");
  h.write("ustar\u000000", 257, "latin1");
  h.fill(0x20, 148, 156);
  h.write(`${h.reduce((n, b) => n + b, 0).toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  const body = Buffer.alloc(Math.ceil(Buffer.byteLength(data) / 512) * 512);
  body.write(data, "utf8");
  return Buffer.concat([h, body]);
}
const tarGz = (...entries: Buffer[]) => zlib.gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));

const made: string[] = [];
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
afterEach(() => made.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Every path under `dir` with its kind: what the analysis could open there. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((p) => `${p}${fs.lstatSync(path.join(dir, p)).isSymbolicLink() ? " (link)" : fs.lstatSync(path.join(dir, p)).isDirectory() ? "/" : ""}`)
    .sort();
}

describe("unpacking a builder's Kconfig tree", () => {
  it("links to this machine's files are left out: neither a symlink nor a hard link to /etc/hostname is read", () => {
    const outside = tempDir("kmod-fleet-operator-");
    fs.writeFileSync(path.join(outside, "secret"), "the operator's file\n");
    const dir = tempDir("kmod-fleet-tree-");
    const r = unpackKernelTree(
      "b1",
      tarGz(
        entry("./drivers/", "5"),
        entry("./drivers/Kconfig", "0", "config FOO\n\ttristate \"foo\"\n"),
        entry("./Kconfig", "2", "", "/etc/hostname"),
        entry("./drivers/Makefile", "2", "", path.join(outside, "secret")),
        entry("./hard", "1", "", "/etc/hostname"),
        entry("./hard-outside", "1", "", path.join(outside, "secret")),
        // A hard link to a file of the tree itself is kept, as a copy.
        entry("./drivers/Kconfig.copy", "1", "", "./drivers/Kconfig"),
      ),
      dir,
    );
    expect(listing(dir)).toEqual(["drivers/", "drivers/Kconfig", "drivers/Kconfig.copy"]);
    expect(fs.readFileSync(path.join(dir, "drivers/Kconfig.copy"), "utf8")).toBe("config FOO\n\ttristate \"foo\"\n");
    expect(r.skipped).toEqual(["Kconfig -> /etc/hostname", `drivers/Makefile -> ${outside}/secret`, "hard -> /etc/hostname", `hard-outside -> ${outside}/secret`]);
    expect(fs.readFileSync(path.join(outside, "secret"), "utf8")).toBe("the operator's file\n");
  });

  it("a '../x' or an absolute path refuses the whole archive, and nothing is written outside the folder", () => {
    const parent = tempDir("kmod-fleet-parent-");
    const dir = path.join(parent, "tree");
    fs.mkdirSync(dir);
    const escape = (name: string) => () => unpackKernelTree("b1", tarGz(entry("./Kconfig", "0", "ok\n"), entry(name, "0", "written outside\n")), dir);
    expect(escape("../x")).toThrow(/^b1: refusing the kernel tree the host sent: it holds the path "\.\.\/x", which leaves the tree/);
    expect(escape("drivers/../../x")).toThrow(/the path "drivers\/\.\.\/\.\.\/x", which leaves the tree/);
    expect(escape(`${parent}/x`)).toThrow(/it holds the absolute path/);
    expect(fs.readdirSync(parent)).toEqual(["tree"]);
  });

  it("a file written through a link the archive made earlier cannot happen: the link was never made", () => {
    const outside = tempDir("kmod-fleet-operator-");
    const dir = tempDir("kmod-fleet-tree-");
    unpackKernelTree("b1", tarGz(entry("./d", "2", "", outside), entry("./d/x", "0", "through the link\n")), dir);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(listing(dir)).toEqual(["d/", "d/x"]);
  });

  it("garbage is refused with the host's name", () => {
    expect(() => unpackKernelTree("b1", Buffer.from("not gzip"), tempDir("kmod-fleet-tree-"))).toThrow(/^b1: refusing the kernel tree the host sent: not a gzip archive/);
    expect(() => unpackKernelTree("b1", zlib.gzipSync(Buffer.alloc(512, 1)), tempDir("kmod-fleet-tree-"))).toThrow(/^b1: refusing the kernel tree the host sent: a damaged tar header at byte 0/);
  });

  it("a tree as GNU tar packs it (build.sh's kconfig-files) comes through whole: long paths, a hard link inside it", () => {
    const src = tempDir("kmod-fleet-src-");
    const long = `drivers/${"deep/".repeat(25)}Kconfig`; // 133 characters: a GNU long-name entry
    fs.mkdirSync(path.join(src, path.dirname(long)), { recursive: true });
    fs.writeFileSync(path.join(src, long), "config DEEP\n\tbool\n");
    fs.writeFileSync(path.join(src, "Makefile"), "obj-y += drivers/\n");
    fs.linkSync(path.join(src, "Makefile"), path.join(src, "Kbuild"));
    const archive = execFileSync("tar", ["-C", src, "-cz", "--null", "-T", "-"], { input: `./${long}\0./Makefile\0./Kbuild\0` });
    const dir = tempDir("kmod-fleet-tree-");
    expect(unpackKernelTree("b1", archive, dir).skipped).toEqual([]);
    expect(fs.readFileSync(path.join(dir, long), "utf8")).toBe("config DEEP\n\tbool\n");
    expect(fs.readFileSync(path.join(dir, "Kbuild"), "utf8")).toBe("obj-y += drivers/\n");
    expect(fs.lstatSync(path.join(dir, "Kbuild")).nlink).toBe(1);
  });
});
