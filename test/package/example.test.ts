// The example program (examples/fleet-from-machines) through the real Pulumi CLI, on this
// machine alone: kmod-fleet installed from the packed tarball, and its one "machine" a real
// OpenSSH server on loopback, published in a test-fleet state file of its own. The
// machine's address and host key are outputs of the example's TestbedMachine resource, so
// the preview of the new stack must plan the host's resources without probing it (its
// install and load of an artifact not known yet: without its kernel it is in no build
// group), and the up must probe it once the machine exists. Only the machine and the host facts are created
// (a targeted up): facts only read the host, so nothing on this machine changes. All of it
// twice: with this machine's Node.js, and with Node.js 24 first on PATH (npm, Pulumi's
// language host running the TypeScript program, and the dynamic providers then run it).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { repoRoot } from "../../dev/toolchain/env";
import { withNode24 } from "../../dev/toolchain/node24";
import { Stack } from "../../dev/toolchain/stack";
import { startSshd, type TestSshd } from "../provider/sshd";
import { EXAMPLE_PROJECT, installExample } from "./example";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // Pulumi's wire value of an unknown
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

// On Node.js 24 only: on this machine's Node.js the lifecycle e2e runs the same example
// against a real VM, and CI's time is better spent there.
const RUNTIMES = [{ major: 24, withEnv: withNode24 }];

describe.each(RUNTIMES)("the example program on Node.js $major, its machine a loopback sshd", ({ major, withEnv }) => {
  let tmp: string;
  let sshd: TestSshd;
  let stack: Stack;
  const urns: Record<string, string> = {};

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-example-"));
    sshd = await startSshd();
    // The host looks like Flatcar to the facts script: release and update files of its own.
    const d = sshd.dir;
    fs.writeFileSync(`${d}/release`, "FLATCAR_RELEASE_VERSION=3975.2.0\nFLATCAR_RELEASE_BOARD=amd64-usr\n");
    fs.writeFileSync(`${d}/update.conf`, "GROUP=stable\n");
    fs.writeFileSync(`${d}/config-${os.release()}`, "CONFIG_MODULES=y\n");
    // The test fleet's state file format (dev/testbed/fleet.ts), with the loopback sshd as h1.
    const state = path.join(tmp, "fleet.json");
    fs.writeFileSync(state, JSON.stringify({ hosts: [{ name: "h1", sshPort: sshd.port, hostKey: sshd.hostKey, dir: d }] }));

    const project = installExample(inject("tarball"), path.join(tmp, "example"), withEnv);
    stack = new Stack("loopback", path.join(tmp, "state"), project);
    stack.env.PATH = withEnv(stack.env).PATH;
    const key = (k: string) => `${EXAMPLE_PROJECT}:${k}`;
    stack.initWith(
      {
        [key("testbedState")]: state,
        [key("profile")]: { releaseFiles: [`${d}/release`], updateConfFiles: [`${d}/update.conf`] },
        [key("kernelConfigSources")]: [`${d}/config-\${KERNEL}`],
        [key("kmodPairSources")]: path.join(repoRoot, "dev", "testbed", "fixtures", "kmod-pair"),
      },
      { [key("sshPrivateKey")]: sshd.privateKey },
    );
  }, 600_000);

  afterAll(async () => {
    if (stack) stack.cli(["destroy", "--yes", "--skip-preview"], { allowFail: true });
    if (stack) stack.destroyState();
    await sshd?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 300_000);

  it(`runs Node.js ${major} for the program`, () => {
    const r = stack.cli(["about", "--json"], { allowFail: true });
    expect(r.output).toMatch(new RegExp(`"version": "${major}\\.`));
  });

  it("installs kmod-fleet from the tarball, without kmod-fleet's devDependencies", () => {
    const modules = path.join(stack.projectDir, "node_modules");
    expect(fs.existsSync(path.join(modules, "kmod-fleet", "dist", "library.js"))).toBe(true);
    expect(fs.existsSync(path.join(modules, "kmod-fleet", "index.ts"))).toBe(false);
    expect(["tsx", "vitest", "ts-node"].filter((p) => fs.existsSync(path.join(modules, p)))).toEqual([]);
  });

  it("preview plans the new machine and its host's resources unprobed: facts, overlay, the set's install and load", () => {
    const r = stack.cli(["preview", "--json"]);
    const json = JSON.parse(r.stdout.slice(r.stdout.indexOf("{")));
    const steps: { op: string; urn: string; newState?: { inputs?: Record<string, unknown> } }[] = json.steps;
    for (const s of steps) urns[s.urn.split("::").pop()!] = s.urn;
    const ops = Object.fromEntries(steps.map((s) => [s.urn.split("::").pop(), s.op]));
    for (const name of ["h1-machine", "fleet", "h1", "h1-facts", "h1-overlay", "h1-kmod-pair-install-a", "h1-kmod-pair-load"]) {
      expect(ops[name], name).toBe("create");
    }
    // Its kernel decides its build group: the build and a developer container are planned by up.
    expect(Object.keys(ops).filter((n) => /build|devcontainer/.test(n))).toEqual([]);
    // Nothing was probed: the facts, and what comes from them, are not known yet.
    const inputs = (name: string) => steps.find((s) => s.urn === urns[name])!.newState!.inputs!;
    expect(inputs("h1-facts").kernelRelease).toBe(UNKNOWN);
    expect(inputs("h1-kmod-pair-install-a").kernelRelease).toBe(UNKNOWN);
    expect(inputs("h1-kmod-pair-install-a").artifactId).toBe(UNKNOWN);
    expect(inputs("h1-overlay").upperDir).toBe("/opt/modules");
    expect(r.output).not.toMatch(/cannot be probed|error:/);
  }, 300_000);

  it("up creates the machine, then probes its host at the address and key it reported", () => {
    // The facts and what they need: the machine, and the components they belong to.
    const r = stack.up(["fleet", "h1", "h1-machine", "h1-facts"].flatMap((name) => ["--target", urns[name]]));
    expect(r.output).toMatch(/h1-machine created[\s\S]*h1: reading host facts[\s\S]*h1-facts created/);
    const state = stack.cli(["stack", "export"]).stdout;
    const resources: { urn: string; outputs: Record<string, any> }[] = JSON.parse(state).deployment.resources;
    const facts = resources.find((x) => x.urn === urns["h1-facts"])!.outputs;
    expect(facts).toMatchObject({ kernelRelease: os.release(), osVersion: "3975.2.0", board: "amd64-usr", group: "stable" });
    // The connection (with the key) is a secret in state, and the key is nowhere in plain text.
    expect(facts.connection[SECRET_SIG]).toBeDefined();
    expect(state).not.toContain(sshd.privateKey.split("\n")[1]);
  }, 300_000);
});
