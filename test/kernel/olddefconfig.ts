/**
 * Runs the kernel's own resolver, `make -C <src> O=<dir> ARCH=x86 olddefconfig`, the ground
 * truth the preflight must agree with. Always with O= (without it, make writes
 * include/config into the source tree and later O= builds refuse it). Each worker keeps
 * its own O= directory so scripts/kconfig/conf is built once per worker.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export class OlddefconfigPool {
  private readonly dirs: string[];
  private readonly free: string[];
  private readonly waiting: ((dir: string) => void)[] = [];

  constructor(private readonly src: string, workers = 2, private readonly arch = "x86") {
    const top = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-olddefconfig-"));
    this.dirs = Array.from({ length: workers }, (_, i) => path.join(top, `w${i}`));
    for (const d of this.dirs) fs.mkdirSync(d);
    this.free = [...this.dirs];
  }

  /** The .config olddefconfig writes for this input. */
  async run(configText: string): Promise<string> {
    const dir = this.free.pop() ?? (await new Promise<string>((r) => this.waiting.push(r)));
    try {
      fs.writeFileSync(path.join(dir, ".config"), configText);
      await new Promise<void>((resolve, reject) =>
        execFile("make", ["-s", "-C", this.src, `O=${dir}`, `ARCH=${this.arch}`, "olddefconfig"], { maxBuffer: 16 << 20 }, (err, _out, stderr) =>
          err ? reject(new Error(`make olddefconfig failed in ${dir}: ${stderr}`)) : resolve(),
        ),
      );
      return fs.readFileSync(path.join(dir, ".config"), "utf8");
    } finally {
      const next = this.waiting.shift();
      if (next) next(dir);
      else this.free.push(dir);
    }
  }

  dispose(): void {
    fs.rmSync(path.dirname(this.dirs[0]), { recursive: true, force: true });
  }
}
