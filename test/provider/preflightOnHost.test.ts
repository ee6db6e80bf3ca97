// The preflight on a host, over real SSH: the host script hands over the kernel tree's
// Kconfig and Kbuild files and the running config, and the analysis runs here on them.
// The tree is the unit tests' miniature of the seed's dead end (DRM selects the built-in
// only HDMI), laid out where the build puts a kernel's sources.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { closeAllSessions, type ConnectionSpec } from "../../ssh/session";
import { runPreflightOnHost } from "../../components/preflightOnHost";
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
