// Stands in for your cloud's machine resource (an aws.ec2.Instance, a libvirt domain, ...):
// a host of kmod-fleet's QEMU test fleet (`npm run testbed -- up`), "provisioned" by looking
// it up in the test fleet's state file, which also holds the host's SSH key. Like a new
// cloud machine, its address, port and host key are outputs known only once it is created:
// a preview of a new stack sees them unknown.
import * as pulumi from "@pulumi/pulumi";

export interface TestbedMachineArgs {
  /** The host's name in the test fleet, e.g. "h1". */
  host: pulumi.Input<string>;
  /** The test fleet's state file: `<kmod-fleet>/.cache/testbed/run/fleet.json`. */
  stateFile: pulumi.Input<string>;
}

interface MachineInputs {
  host: string;
  stateFile: string;
}

interface MachineOutputs extends MachineInputs {
  address: string;
  port: number;
  hostKey: string;
}

// Pulumi serializes these functions into its provider process: modules are loaded with
// require() inside them, not imported at the top.
function lookUp(inputs: MachineInputs): MachineOutputs {
  const fs = require("fs");
  const state = JSON.parse(fs.readFileSync(inputs.stateFile, "utf8"));
  const found = (state.hosts ?? []).find((h: { name: string }) => h.name === inputs.host);
  if (!found) throw new Error(`${inputs.host} is not a host of the test fleet in ${inputs.stateFile}; is it up (npm run testbed -- up)?`);
  // The guests' SSH ports are forwarded on this machine's loopback.
  return { host: inputs.host, stateFile: inputs.stateFile, address: "127.0.0.1", port: found.sshPort, hostKey: found.hostKey };
}

const machineProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MachineInputs) {
    return { id: inputs.host, outs: lookUp(inputs) };
  },
  // `pulumi refresh`: the machine as the test fleet has it now.
  async read(id: string, props: MachineOutputs) {
    return { id, props: lookUp(props) };
  },
  async diff(_id: string, olds: MachineOutputs, news: MachineInputs) {
    const replaces = (["host", "stateFile"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces };
  },
  // The test fleet owns its VMs; a real machine resource would delete the machine here.
  async delete() {},
};

export class TestbedMachine extends pulumi.dynamic.Resource {
  public declare readonly address: pulumi.Output<string>;
  public declare readonly port: pulumi.Output<number>;
  /** The host's public SSH key ("ssh-ed25519 AAAA..."), as kmod-fleet pins it. */
  public declare readonly hostKey: pulumi.Output<string>;

  constructor(name: string, args: TestbedMachineArgs, opts?: pulumi.CustomResourceOptions) {
    super(machineProvider, name, { ...args, address: undefined, port: undefined, hostKey: undefined }, opts, "kmod-fleet-example", "TestbedMachine");
  }
}
