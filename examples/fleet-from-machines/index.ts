// Your own Pulumi program: it creates the machines, and kmod-fleet builds and loads kernel
// modules on them. The hosts' addresses and host keys are outputs of the resources that
// create the machines: a preview of a new stack plans kmod-fleet's resources for a machine
// that does not exist yet (without probing it), and `pulumi up` probes each host once its
// machine exists, then converges it.
//
// Here the machines are hosts of kmod-fleet's QEMU test fleet (testbedMachine.ts); put your
// cloud's machine resource in their place.
import * as pulumi from "@pulumi/pulumi";
import { Fleet, type ProfileConfig } from "kmod-fleet";
import { TestbedMachine } from "./testbedMachine";

const config = new pulumi.Config();

const machines = (config.getObject<string[]>("hosts") ?? ["h1"]).map((name) => ({
  name,
  machine: new TestbedMachine(`${name}-machine`, { host: name, stateFile: config.require("testbedState") }),
}));

const fleet = new Fleet("fleet", {
  hosts: machines.map(({ name, machine }) => ({
    name,
    address: machine.address,
    port: machine.port,
    hostKey: machine.hostKey,
  })),
  defaults: {
    // Flatcar's user is core (steps then run with sudo -n); the test fleet logs in as root.
    user: "root",
    // A secret Output: it stays a secret in state and is never printed.
    auth: { privateKey: config.requireSecret("sshPrivateKey") },
  },
  // Left out, these are Flatcar's release server, signing key and kernel config places;
  // the test fleet publishes its own developer containers.
  profile: config.getObject<ProfileConfig>("profile"),
  kernelConfigSources: config.getObject<string[]>("kernelConfigSources"),
  moduleSets: [
    {
      // Two out-of-tree modules: pair_consumer uses a symbol pair_provider exports.
      name: "kmod-pair",
      source: { dir: config.get("kmodPairSources") ?? "../../dev/testbed/fixtures/kmod-pair" },
      load: ["pair_provider", "pair_consumer"],
      parameters: { pair_consumer: { greeting: "hello-from-the-example" } },
    },
  ],
});

/** Per host: kernel release, OS version, and the modules built for each set. */
export const hosts = fleet.summary;
