// The preflight on a host, over real SSH: the host script hands over the kernel tree's
// Kconfig and Kbuild files and the running config, and the analysis runs here on them.
// The tree is the unit tests' miniature of the seed's dead end (DRM selects the built-in
// only HDMI), laid out where the build puts a kernel's sources.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { closeAllSessions, type ConnectionSpec } from "../../host/ssh/session";
import { runPreflightOnHost } from "../../components/providers/preflightOnHost";
import { inTreePlan } from "../../kernel/inTreePlan";
import { MINI_TREE } from "../unit/kernel/tree";
import { startSshd, type TestSshd } from "./sshd";

const KERNEL = "6.1.0-50-cloud-amd64";
// A second kernel with the optional-switch fixture (FOO=m is a dead end, FOO_ALLOW_CEC=n avoids it).
const SWITCH_KERNEL = "6.1.0-51-cloud-amd64";
const SWITCH_TREE = path.join(__dirname, "..", "unit", "fixtures", "optional-switch");
let sshd: TestSshd;
let spec: ConnectionSpec;

beforeAll(async () => {
  sshd = await startSshd();
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  const tree = `${sshd.dir}/work/src/${KERNEL}/linux`;
  for (const [p, text] of Object.entries(MINI_TREE)) {
    fs.mkdirSync(path.join(tree, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(tree, p), text);
  }
  fs.cpSync(SWITCH_TREE, `${sshd.dir}/work/src/${SWITCH_KERNEL}/linux`, { recursive: true });
  fs.writeFileSync(`${sshd.dir}/config-plain`, "CONFIG_MODULES=y\n");
  fs.writeFileSync(`${sshd.dir}/config-fb`, "CONFIG_MODULES=y\nCONFIG_FB=y\nCONFIG_HDMI=y\n");
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

const request = (config: string) => ({ workDir: `${sshd.dir}/work`, arch: "x86_64", kernelRelease: KERNEL, kernelConfig: `${sshd.dir}/${config}`, timeoutSeconds: 30, options: ["I915"], set: "gfx" });

describe("the preflight on a host's own tree", () => {
  it("a dead end fails the set before anything is built, with the analysis's reasons", async () => {
    await expect(runPreflightOnHost(spec, request("config-plain"))).rejects.toThrow(/loop: module set gfx can never load on kernel 6\.1\.0-50-cloud-amd64; nothing was built\.[\s\S]*DEAD END[\s\S]*HDMI/);
  });

  it("a request the kernel can take passes, with the report the build takes its options and directories from", async () => {
    const report = await runPreflightOnHost(spec, request("config-fb"));
    expect(report.verdict).toBe("ok");
    expect(report.requests).toEqual([{ option: "I915", value: "m", result: "m" }]);
    expect(report.newModules.map((m) => m.file)).toContain("drivers/gpu/i915/i915.ko");
  });

  it("OPTION=n reaches the host's preflight as is, and the build plan passes it on", async () => {
    const req = { ...request("config-plain"), kernelRelease: SWITCH_KERNEL, options: ["FOO", "FOO_ALLOW_CEC=n"], set: "foo" };
    const report = await runPreflightOnHost(spec, req);
    expect(report.verdict).toBe("ok");
    expect(report.requests).toEqual([
      { option: "FOO", value: "m", result: "m" },
      { option: "FOO_ALLOW_CEC", value: "n", result: "n" },
    ]);
    expect(inTreePlan(report).options).toEqual(["FOO=m", "FOO_ALLOW_CEC=n"]);
    await expect(runPreflightOnHost(spec, { ...req, options: ["FOO"] })).rejects.toThrow(/module set foo can never load[\s\S]*Would work: FOO=m with FOO_ALLOW_CEC=n/);
  });
});

// A builder that sends a tree whose top Kconfig is a link to a file of the machine that runs
// Pulumi: with the link kept, that file would decide the verdict (here it makes I915 a plain
// option, so the request would pass). The stub `tar` on the host sends the archive as is.
describe("a kernel tree with links to this machine's files", () => {
  let hostile: TestSshd;
  let hostileSpec: ConnectionSpec;
  let local: string;
  beforeAll(async () => {
    hostile = await startSshd({ namespace: { stubs: { tar: "exit 1" } } });
    hostileSpec = { ...spec, port: hostile.port, privateKey: hostile.privateKey, hostKeys: [hostile.hostKey] };
    local = fs.mkdtempSync(`${sshd.dir}/operator-`);
    fs.writeFileSync(`${local}/Kconfig`, 'config MODULES\n\tbool "modules"\n\tmodules\nconfig I915\n\ttristate "i915"\n');
    const packed = `${local}/packed`;
    for (const [p, text] of Object.entries(MINI_TREE)) {
      fs.mkdirSync(path.join(packed, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(packed, p), text);
    }
    fs.rmSync(`${packed}/Kconfig`);
    fs.symlinkSync(`${local}/Kconfig`, `${packed}/Kconfig`);
    execFileSync("tar", ["-C", packed, "-czf", `${local}/tree.tar.gz`, "."]);
    fs.mkdirSync(`${hostile.dir}/work/src/${KERNEL}/linux`, { recursive: true });
    fs.writeFileSync(`${hostile.dir}/stubs/tar`, `#!/bin/bash\ncat > /dev/null\ncat ${local}/tree.tar.gz\n`, { mode: 0o755 });
    fs.writeFileSync(`${hostile.dir}/config-plain`, "CONFIG_MODULES=y\n");
  });
  afterAll(async () => {
    await hostile?.stop();
  });

  it("the link is not unpacked: the analysis never reads the file it points to", async () => {
    const req = { ...request("config-plain"), workDir: `${hostile.dir}/work`, kernelConfig: `${hostile.dir}/config-plain` };
    const answer = await runPreflightOnHost(hostileSpec, req).then(
      (r) => `verdict ${r.verdict}`,
      (e: Error) => e.message,
    );
    expect(answer).not.toBe("verdict ok");
    expect(answer).toMatch(/^loop: the preflight could not run[^]*Kconfig/);
  });
});

