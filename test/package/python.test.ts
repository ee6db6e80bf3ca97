// The Python example (examples/python-fleet) as a user sets it up, through the real CLI:
// kmod-fleet installed with npm from the packed tarball (on Node.js 24, which then runs the
// component and its providers), `pulumi package add` of its component package generating
// the Python SDK with our Python language host, a virtualenv with the pulumi SDK and that
// SDK, and a preview of a new stack whose one host is an OpenSSH server on loopback. The
// preview probes the host (it only reads it): nothing on this machine changes.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { repoRoot, toolchainBin } from "../../dev/toolchain/env";
import { withNode24 } from "../../dev/toolchain/node24";
import { Stack } from "../../dev/toolchain/stack";
import { startSshd, type TestSshd } from "../provider/sshd";
import { npm } from "./example";

const EXAMPLE = path.join(repoRoot, "examples", "python-fleet");
const PROJECT = "kmod-fleet-python-example";

let tmp: string;
let dir: string;
let sshd: TestSshd;
let stack: Stack;
let added: ReturnType<typeof spawnSync>;

/** Runs a command in the example's folder with Node.js 24 first on PATH; throws with its output if it fails. */
function must(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(toolchainBin(), "pulumi-language-python"))) {
    throw new Error(`no pulumi-language-python in ${toolchainBin()}: run \`npm run pulumi:toolchain\``);
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-python-"));
  dir = path.join(tmp, "example");
  fs.cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/^(node_modules|venv|sdks|Pulumi\..+\.yaml$)/.test(path.relative(EXAMPLE, src)) });
  const pkgFile = path.join(dir, "package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
  pkg.dependencies["kmod-fleet"] = `file:${inject("tarball")}`;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + "\n");
  npm(["install", "--engine-strict", "--prefer-offline"], dir, withNode24);

  stack = new Stack("loopback", path.join(tmp, "state"), dir);
  stack.env.PATH = withNode24(stack.env).PATH;
  added = spawnSync(path.join(toolchainBin(), "pulumi"), ["package", "add", "./node_modules/kmod-fleet/plugin", "--non-interactive"], { cwd: dir, env: stack.env, encoding: "utf8", timeout: 300_000 });
  if (added.status !== 0) return; // the first test shows why
  must("python3", ["-m", "venv", "venv"], stack.env);
  must(path.join(dir, "venv", "bin", "pip"), ["install", "--quiet", "-r", "requirements.txt"], stack.env);

  sshd = await startSshd();
  const d = sshd.dir;
  fs.writeFileSync(`${d}/release`, "FLATCAR_RELEASE_VERSION=3975.2.0\nFLATCAR_RELEASE_BOARD=amd64-usr\n");
  fs.writeFileSync(`${d}/update.conf`, "GROUP=stable\n");
  fs.writeFileSync(`${d}/config-${os.release()}`, "CONFIG_MODULES=y\n");
  const key = (k: string) => `${PROJECT}:${k}`;
  stack.initWith(
    {
      [key("host")]: "127.0.0.1",
      [key("port")]: sshd.port,
      [key("hostKey")]: sshd.hostKey,
      [key("user")]: "root",
      [key("profile")]: { releaseFiles: [`${d}/release`], updateConfFiles: [`${d}/update.conf`] },
      [key("kernelConfigSources")]: [`${d}/config-\${KERNEL}`],
      [key("kmodPairSources")]: path.join(repoRoot, "dev", "testbed", "fixtures", "kmod-pair"),
    },
    { [key("sshPrivateKey")]: sshd.privateKey },
  );
}, 900_000);

afterAll(async () => {
  if (stack) stack.destroyState();
  await sshd?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 300_000);

describe("the Python example, through kmod-fleet's component package, its host a loopback sshd", () => {
  it("pulumi package add generates the Python SDK from the installed package's component package", () => {
    expect(`${added.stdout}\n${added.stderr}`).not.toMatch(/error:/);
    expect(added.status).toBe(0);
    const sdk = path.join(dir, "sdks", "kmod-fleet", "pulumi_kmod_fleet");
    expect(fs.readFileSync(path.join(sdk, "fleet.py"), "utf8")).toMatch(/class Fleet\(pulumi\.ComponentResource\)/);
    expect(fs.readFileSync(path.join(dir, "requirements.txt"), "utf8").split("\n")).toContain("./sdks/kmod-fleet");
  });

  it("the Python program runs on Python, its component on Node.js 24", () => {
    // Our Python language host reports the interpreter it runs: the virtualenv's.
    const about = JSON.parse(stack.cli(["about", "--json"]).stdout);
    expect(about.runtime).toMatchObject({ language: "python", executable: path.join(dir, "venv", "bin", "python") });
    expect(spawnSync("node", ["--version"], { env: stack.env, encoding: "utf8" }).stdout).toMatch(/^v24\./);
  });

  it("preview plans the component and the host's resources: facts, overlay, the set's install and load", () => {
    const { steps, result } = stack.preview();
    const ops = Object.fromEntries(steps.map((s) => [s.name, s.op]));
    for (const name of ["fleet", "h1", "h1-facts", "h1-overlay", "h1-kmod-pair-load"]) expect(ops[name], name).toBe("create");
    expect(steps.find((s) => s.name === "fleet")?.type).toBe("kmod-fleet:index:Fleet");
    expect(steps.filter((s) => /^h1-kmod-pair-install/.test(s.name)).map((s) => s.op)).toContain("create");
    // The host was probed (its facts read over SSH), so its kernel's build is planned too.
    expect(result.output).toMatch(/h1: reading host facts/);
    expect(steps.filter((s) => /build/.test(s.name)).map((s) => s.op), steps.map((s) => s.name).join(" ")).toContain("create");
    expect(result.output).not.toMatch(/error:|Traceback/);
  }, 300_000);
});
