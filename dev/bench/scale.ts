// The program at scale, on a simulated fleet (test/scale/simulatedFleet.ts: one sshd per
// host on loopback, each in its own mount namespace; no VM):
//   npm run bench:scale -- --hosts 10        (then 50, 100)
// With the real Pulumi CLI: a converging `up` (every host installs and loads the one
// artifact already in the store) and then a no-op `up --refresh`. For each: wall time, the
// peak memory (VmHWM) and CPU time of the Node process that runs the program and of the
// dynamic providers' one, and the SSH logins the hosts' sshd accepted. Then it checks over SSH that
// every host has the modules installed and loaded. The last line printed is one JSON object.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { KERNEL, seedStoredBuild, simulatedFleetConfig, sshLogins, startSimulatedFleet, stopSimulatedFleet, type SimulatedHost } from "../../test/scale/simulatedFleet";
import { sampleNodeProcesses, type NodeFigures } from "../../test/scale/nodeProcesses";
import { closeAllSessions, runScript } from "../../host/ssh/session";
import { Stack, type CliResult } from "../toolchain/stack";

/** The hosts' root folder: the same path in every host's namespace, empty outside them; one per run, so runs can overlap. */
const ROOT = `/tmp/kmod-fleet-scale-${process.pid}`;

interface Measured {
  result: CliResult;
  seconds: number;
  program: NodeFigures;
  provider: NodeFigures;
  engine: NodeFigures;
  sshConnections: number;
}

async function measure(stack: Stack, hosts: SimulatedHost[], args: string[]): Promise<Measured> {
  const before = sshLogins(hosts);
  const sampler = sampleNodeProcesses(`PULUMI_BACKEND_URL=${stack.env.PULUMI_BACKEND_URL}\0`);
  const result = await stack.cliStreaming(args, { sink: () => undefined, timeoutSeconds: 1800 });
  const { program, provider, engine } = sampler.stop();
  // sshd logs a login a moment after accepting it; the run's own connections are all logged by the time it exits.
  return { result, seconds: result.seconds, program, provider, engine, sshConnections: sshLogins(hosts) - before };
}

const cpuOf = (m: Measured) => ({ program: m.program.cpuSeconds, provider: m.provider.cpuSeconds, engine: m.engine.cpuSeconds });

/** "Resources:" counts at the end of an up, e.g. { unchanged: 301 } or { created: 300, unchanged: 1 }. */
function resourceCounts(output: string): Record<string, number> {
  const tail = output.slice(output.lastIndexOf("Resources:"));
  return Object.fromEntries([...tail.matchAll(/^\s+(?:[+~-]\s+)?(\d+) (\w+)/gm)].map((m) => [m[2], Number(m[1])]));
}

/** Hosts that have both modules installed (the artifact's files) and loaded. */
async function convergedHosts(hosts: SimulatedHost[], sums: string): Promise<string[]> {
  const check = `cd ${ROOT}/modules/${KERNEL}/extra/kmod-pair 2>/dev/null && sha256sum *.ko; echo ---; ls /sys/module`;
  const ok: string[] = [];
  for (const h of hosts) {
    const out = (await runScript(h.spec, check, { timeoutSeconds: 30 })).stdout.trim();
    if (out === `${sums}\n---\npair_consumer\npair_provider`) ok.push(h.name);
  }
  closeAllSessions();
  return ok;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf("--hosts");
  const count = i > 0 ? Number(process.argv[i + 1]) : 10;
  if (!Number.isInteger(count) || count < 1 || count > 500) throw new Error(`--hosts: expected a whole number from 1 to 500, got ${process.argv[i + 1]}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-scale-"));
  let hosts: SimulatedHost[] = [];
  const stack = new Stack(`scale-${count}`, path.join(work, "state"));
  try {
    const t0 = Date.now();
    hosts = await startSimulatedFleet(count, ROOT);
    const store = path.join(work, "store");
    const sums = await seedStoredBuild(store);
    stack.init(simulatedFleetConfig(hosts, ROOT, store), "unused: every host has a keyFile");
    console.log(`${count} simulated hosts up in ${((Date.now() - t0) / 1000).toFixed(1)} s; converging`);
    const converge = await measure(stack, hosts, ["up", "--yes", "--skip-preview"]);
    if (converge.result.code !== 0) throw new Error(`the converging up failed:\n${converge.result.output.slice(-4000)}`);
    console.log(`converge: ${converge.seconds.toFixed(1)} s; no-op up --refresh`);
    const noop = await measure(stack, hosts, ["up", "--yes", "--skip-preview", "--refresh"]);
    if (noop.result.code !== 0) throw new Error(`the no-op up --refresh failed:\n${noop.result.output.slice(-4000)}`);
    const counts = resourceCounts(noop.result.output);
    const converged = await convergedHosts(hosts, sums);
    const figures = {
      hosts: count,
      convergeSeconds: Number(converge.seconds.toFixed(1)),
      noopRefreshSeconds: Number(noop.seconds.toFixed(1)),
      peakRssMB: Math.max(converge.program.peakRssMB, noop.program.peakRssMB),
      providerPeakRssMB: Math.max(converge.provider.peakRssMB, noop.provider.peakRssMB),
      // CPU seconds of the program, the providers and the engine (CLI and language host): what grows, whatever the load.
      convergeCpuSeconds: cpuOf(converge),
      noopRefreshCpuSeconds: cpuOf(noop),
      sshConnections: converge.sshConnections + noop.sshConnections,
      convergeSshConnections: converge.sshConnections,
      noopRefreshSshConnections: noop.sshConnections,
      convergedHosts: converged.length,
      noopRefreshChanges: Object.entries(counts).filter(([what]) => what !== "unchanged").reduce((n, [, c]) => n + c, 0),
      noopRefreshUnchanged: counts.unchanged ?? 0,
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
    };
    console.log(JSON.stringify(figures));
  } finally {
    stack.destroyState();
    await stopSimulatedFleet(hosts);
    fs.rmSync(work, { recursive: true, force: true });
    // The namespaces' mount point, empty outside them.
    if (fs.existsSync(ROOT)) fs.rmdirSync(ROOT);
  }
}

main().catch((e) => {
  console.error(`bench:scale failed: ${e?.message ?? e}`);
  process.exit(1);
});
