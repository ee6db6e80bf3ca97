// Several stacks, one store, through the real Pulumi CLI on simulated hosts (sshd on loopback
// in private mount namespaces, test/scale/simulatedFleet.ts; only modprobe, modinfo, depmod
// and systemctl are stubbed). The build is in the store already, as another stack left it:
// - two stacks on a registry store (the second in another project folder with empty local
//   state, as a CI runner has it) run `up` at the same time: both converge with no build and
//   no developer container, their hosts pull the files themselves, and every host ends with
//   the same modules;
// - two stacks on one local store run `up` at the same time as well, the files uploaded.
// Every host's SSH port and each stack's registry address go through a counting proxy, so
// the bytes that pass through the operator are measured for 1 and for 3 hosts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { KERNEL, simulatedBuild, simulatedFleetConfig, startSimulatedHost, stopSimulatedFleet, type SimulatedHost } from "../scale/simulatedFleet";
import { closeAllSessions, runScript } from "../../host/ssh/session";
import { Stack, type CliResult } from "../../dev/toolchain/stack";
import { repoRoot } from "../../dev/toolchain/env";
import { LocalArtifactStore } from "../../artifacts/store";
import { RegistryArtifactStore } from "../../artifacts/registryStore";
import { orasBinary } from "../../artifacts/oras";
import { startRegistry, type TestRegistry } from "./registry";
import { projectCopy } from "./projectCopy";

const R = "/tmp/kmod-fleet-shared-store-test";
/** Each .ko this large: an upload per host shows in the figures, a pull does not. */
const PAD = 256 * 1024;
const build = simulatedBuild("h1", PAD);
const artifactBytes = build.manifest.modules.reduce((n, m) => n + m.size, 0);

/** A TCP proxy that counts the bytes the operator sends and receives through it. */
interface CountingProxy {
  port: number;
  sent: number;
  received: number;
  close(): Promise<void>;
}

async function countingProxy(targetPort: number): Promise<CountingProxy> {
  const sockets = new Set<net.Socket>();
  const proxy = { port: 0, sent: 0, received: 0, close: async () => {} };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("data", (d) => (proxy.sent += d.length));
    upstream.on("data", (d) => (proxy.received += d.length));
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.close = () => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r())));
  return proxy;
}

let registry: TestRegistry;
let work: string;
const hosts: SimulatedHost[] = [];
const sshProxies = new Map<string, CountingProxy>();
const registryProxies: CountingProxy[] = [];
const stacks: Stack[] = [];

const installed = async (h: SimulatedHost) => (await runScript(h.spec, `cd ${R}/modules/${KERNEL}/extra/kmod-pair 2>/dev/null && sha256sum *.ko; true`, { timeoutSeconds: 30 })).stdout.trim();

/** What went through the operator for these hosts: SSH to them, and to and from the stack's registry proxy. */
function operatorBytes(names: string[], registryProxy?: CountingProxy) {
  const ssh = names.reduce((n, h) => n + sshProxies.get(h)!.sent, 0);
  return { hosts: names.length, sshToHosts: ssh, registry: registryProxy ? registryProxy.sent + registryProxy.received : 0 };
}

/** The stack's resources from its state: name -> outputs. */
function outputsOf(stack: Stack): Map<string, any> {
  const state = JSON.parse(stack.cli(["stack", "export"]).stdout);
  return new Map((state.deployment?.resources ?? []).map((r: any) => [String(r.urn).split("::").pop(), r.outputs ?? {}]));
}

/** A stack for these hosts in its own state folder (and project folder, when given), on the given store. */
function stackFor(name: string, names: string[], store: Record<string, unknown>, projectDir = repoRoot, secrets: Record<string, string> = {}): Stack {
  const stack = new Stack(name, path.join(work, `state-${name}`), projectDir);
  const chosen = hosts.filter((h) => names.includes(h.name));
  const fleet = simulatedFleetConfig(chosen, R, "unused");
  fleet.hosts = fleet.hosts.map((h: any) => ({ ...h, port: sshProxies.get(h.name)!.port }));
  fleet.build = { store };
  stack.initWith({ "kmod-fleet:fleet": fleet }, secrets);
  stacks.push(stack);
  return stack;
}

const up = (stack: Stack): Promise<CliResult> => stack.cliStreaming(["up", "--yes", "--skip-preview"], { sink: () => undefined, allowFail: true });

beforeAll(async () => {
  if (!orasBinary()) throw new Error("the shared store test needs the oras CLI: run `npm run oras:toolchain` or put oras on PATH");
  work = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-shared-store-"));
  registry = await startRegistry();
  for (let i = 1; i <= 8; i++) {
    const h = await startSimulatedHost(`h${i}`, R);
    hosts.push(h);
    sshProxies.set(h.name, await countingProxy(h.sshd.port));
  }
  closeAllSessions();
  // Another stack built the set for this kernel: it is in the registry and in a local store.
  await new RegistryArtifactStore({ url: registry.url, repository: "team/kmod-fleet", username: registry.username, password: registry.password }).put(build.manifest, build.files);
  await new LocalArtifactStore(path.join(work, "local-store")).put(build.manifest, build.files);
}, 300_000);

afterAll(async () => {
  for (const s of stacks) s.destroyState();
  closeAllSessions();
  await Promise.all([...sshProxies.values(), ...registryProxies].map((p) => p.close()));
  await stopSimulatedFleet(hosts);
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (fs.existsSync(R)) fs.rmdirSync(R);
}, 120_000);

describe("one store for several stacks, runs at the same time", () => {
  it("two stacks on one registry, one in another project folder with empty state: both up at once, no build, the hosts pull the files, identical modules everywhere; the operator's bytes do not grow with the hosts", async () => {
    const registryStore = async (name: string) => {
      // The operator reaches the registry through a counting proxy; the hosts reach it directly (hostUrl).
      const proxy = await countingProxy(Number(new URL(registry.url).port));
      registryProxies.push(proxy);
      return { proxy, store: { registry: { url: `http://127.0.0.1:${proxy.port}`, hostUrl: registry.url, repository: "team/kmod-fleet", username: registry.username, passwordConfig: "registryPassword", insecureHttp: true } }, name };
    };
    const a = await registryStore("shared-a");
    const b = await registryStore("shared-b");
    const secret = { "kmod-fleet:registryPassword": registry.password };
    const stackA = stackFor(a.name, ["h1"], a.store, repoRoot, secret);
    const stackB = stackFor(b.name, ["h2", "h3", "h4"], b.store, projectCopy(path.join(work, "ci-runner-checkout")), secret);

    const [ra, rb] = await Promise.all([up(stackA), up(stackB)]);
    expect(ra.code, ra.output.slice(-3000)).toBe(0);
    expect(rb.code, rb.output.slice(-3000)).toBe(0);

    for (const h of hosts.slice(0, 4)) expect(await installed(h), h.name).toBe(build.sums);
    for (const [stack, names] of [[stackA, ["h1"]], [stackB, ["h2", "h3", "h4"]]] as const) {
      const outputs = outputsOf(stack);
      const builds = [...outputs].filter(([n]) => n.startsWith("build-"));
      expect(builds.map(([, o]) => o.obtained)).toEqual(["found in the store"]);
      expect([...outputs.keys()].filter((n) => /devcontainer/.test(n))).toEqual([]);
      for (const h of names) expect(outputs.get(`${h}-kmod-pair-install-a`)?.filesFrom ?? outputs.get(`${h}-kmod-pair-install`)?.filesFrom, h).toMatch(/^pulled by the host from oci:\/\//);
    }
    // No password in either project's stack file or state in clear.
    for (const stack of [stackA, stackB]) {
      expect(fs.readFileSync(stack.configFile, "utf8")).not.toContain(registry.password);
      expect(stack.cli(["stack", "export"]).stdout).not.toContain(registry.password);
    }

    const one = operatorBytes(["h1"], a.proxy);
    const three = operatorBytes(["h2", "h3", "h4"], b.proxy);
    console.log(`operator bytes with a registry store (artifact ${artifactBytes} bytes): 1 host ${JSON.stringify(one)}; 3 hosts ${JSON.stringify(three)}`);
    // The files never pass through the operator: what it sends a host is scripts and a file list.
    expect(one.sshToHosts).toBeLessThan(artifactBytes);
    expect(three.sshToHosts / 3).toBeLessThan(artifactBytes);
    // From the registry the operator reads the artifact once per stack (the build resource
    // checks every byte when it takes the stored artifact), never once per host.
    expect(three.registry).toBeLessThan(1.1 * one.registry);
    expect(three.registry).toBeLessThan(2 * artifactBytes);
  }, 600_000);

  it("two stacks on one local store: both up at once, the files uploaded from it to every host", async () => {
    const store = { path: path.join(work, "local-store") };
    const before = new Map([...sshProxies].map(([h, p]) => [h, p.sent]));
    const stackC = stackFor("local-c", ["h5"], store);
    const stackD = stackFor("local-d", ["h6", "h7", "h8"], store, projectCopy(path.join(work, "second-checkout")));
    const [rc, rd] = await Promise.all([up(stackC), up(stackD)]);
    expect(rc.code, rc.output.slice(-3000)).toBe(0);
    expect(rd.code, rd.output.slice(-3000)).toBe(0);
    for (const h of hosts.slice(4)) expect(await installed(h), h.name).toBe(build.sums);
    for (const h of ["h6", "h7", "h8"]) {
      const outputs = outputsOf(stackD);
      expect(outputs.get(`${h}-kmod-pair-install-a`)?.filesFrom ?? outputs.get(`${h}-kmod-pair-install`)?.filesFrom, h).toMatch(/^uploaded from /);
    }
    const sent = (names: string[]) => names.reduce((n, h) => n + sshProxies.get(h)!.sent - before.get(h)!, 0);
    console.log(`operator bytes with a local store (artifact ${artifactBytes} bytes): 1 host ${sent(["h5"])}; 3 hosts ${sent(["h6", "h7", "h8"])}`);
    expect(sent(["h5"])).toBeGreaterThan(artifactBytes);
    expect(sent(["h6", "h7", "h8"])).toBeGreaterThan(3 * artifactBytes);
    // The store still holds the one artifact, whole.
    expect(await new LocalArtifactStore(store.path).has(build.manifest)).toBe(true);
  }, 600_000);
});
