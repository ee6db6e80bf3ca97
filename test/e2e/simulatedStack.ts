// A stack of this project over simulated hosts (test/scale/simulatedFleet.ts), with the
// set's build already in its artifact store: the setup the program test and the watch test
// share. Its state and store live in a temp folder; stop() forgets the stack and stops the hosts.
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { seedStoredBuild, simulatedFleetConfig, startSimulatedHost, stopSimulatedFleet, type SimulatedHost } from "../scale/simulatedFleet";
import { closeAllSessions } from "../../host/ssh/session";
import { Stack } from "../../dev/toolchain/stack";

export interface SimulatedStack {
  hosts: Record<string, SimulatedHost>;
  stack: Stack;
  store: string;
  /** The `sha256sum *.ko` lines of a host that installed the stored build. */
  sums: string;
  fleetConfig: Record<string, any>;
  stop(): Promise<void>;
}

/** Hosts `names` with every path under `root` (the same path in every host's namespace), and stack `stackName` for them. */
export async function startSimulatedStack(stackName: string, root: string, names: string[]): Promise<SimulatedStack> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `kmod-fleet-${stackName}-`));
  const store = path.join(work, "store");
  const hosts: Record<string, SimulatedHost> = {};
  let stack: Stack | undefined;
  const stop = async () => {
    stack?.destroyState();
    closeAllSessions();
    await stopSimulatedFleet(Object.values(hosts));
    fs.rmSync(work, { recursive: true, force: true });
    // The namespaces' mount point, empty outside them.
    if (fs.existsSync(root)) fs.rmdirSync(root);
  };
  try {
    for (const name of names) hosts[name] = await startSimulatedHost(name, root);
    // An earlier run built the set for this kernel: its artifact is in the store.
    const sums = await seedStoredBuild(store);
    stack = new Stack(stackName, path.join(work, "state"));
    const fleetConfig = simulatedFleetConfig(Object.values(hosts), root, store);
    stack.init(fleetConfig, "unused: every host has a keyFile");
    return { hosts, stack, store, sums, fleetConfig, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A loopback port nobody listens on. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}
