// kmod-fleet: the Pulumi program. Reads and validates the stack's fleet config, then
// builds the fleet: one build per kernel and module set on a builder host (with its
// verified developer container) into the local artifact store, and for every host the
// modules overlay and an install and a load per module set (see components/). The stack
// config is the Fleet component's args with plain values only (see library.ts for use in
// your own program).
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, resolveFleetConfig } from "./config/resolve";
import type { FleetConfig } from "./config/schema";
import { Fleet, type FleetArgs } from "./components/fleet";

const config = new pulumi.Config("kmod-fleet");

function readFleetConfig(): FleetConfig {
  const raw = config.getObject("fleet");
  try {
    // Every problem is reported at once, before any host is touched, as
    // `invalid kmod-fleet:fleet config`; the component checks the same again.
    resolveFleetConfig(raw, {
      dirExists: (dir) => fs.existsSync(dir) && fs.statSync(dir).isDirectory(),
    });
  } catch (e) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
  return raw as FleetConfig;
}

// The stack config is the Fleet's args in plain values, but for one spelling the typed args
// leave out: `auth.agent: <socket path>` (typed, `auth.agentSocketPath`), which the Fleet
// accepts at run time.
const fleet = new Fleet("fleet", readFleetConfig() as FleetArgs);

/** Per host: kernel release, OS version, and the modules built for each set. */
export const hosts = fleet.summary;
