// kmod-fleet: the Pulumi program. Reads the stack's fleet config and builds the fleet: one
// build per kernel and module set on a builder host (with its verified developer
// container) into the artifact store, and for every host the modules overlay and an
// install and a load per module set (see components/). The stack config is the Fleet
// component's args with plain values only (see library.ts for use in your own program).
import * as pulumi from "@pulumi/pulumi";
import { Fleet, type FleetArgs } from "./components/fleet";

const config = new pulumi.Config("kmod-fleet");

// The Fleet validates the config once, with the stack config's schema: every problem at
// once, before any host is touched, as `invalid kmod-fleet:fleet config` (a RunError, which
// Pulumi prints without a stack trace). The stack config also accepts, for one spelling the
// typed args leave out, `auth.agent: <socket path>` (typed, `auth.agentSocketPath`).
const fleet = new Fleet("fleet", config.getObject("fleet") as FleetArgs, { fromStackConfig: true });

/** Per host: kernel release, OS version, and the modules built for each set. */
export const hosts = fleet.summary;
