// Pulumi's mocks for the component tests: every resource the program registers is kept with
// its inputs, and its state is its inputs (or what `stateOf` says), so that a test looks at
// what the program made. Call before importing a module that creates resources.
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: any;
}

export function recordResources(opts: { preview?: boolean; stateOf?: (args: pulumi.runtime.MockResourceArgs) => any } = {}): Registered[] {
  const registered: Registered[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: opts.stateOf ? opts.stateOf(args) : args.inputs };
      },
      call: (args) => args.inputs,
    },
    "kmod-fleet",
    "test",
    opts.preview ?? false,
  );
  return registered;
}

/** The registered resources of one kmod-fleet dynamic type (token pulumi-nodejs:dynamic/kmod-fleet:<type>). */
export function ofType(registered: Registered[], type: string): Registered[] {
  return registered.filter((r) => r.type === `pulumi-nodejs:dynamic/kmod-fleet:${type}`);
}
