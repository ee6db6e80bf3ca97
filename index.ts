// kmod-fleet: the Pulumi program. Reads and validates the stack's fleet config, then
// builds the fleet: for every host the modules overlay, the verified developer container,
// and a build and a load per module set (see components/).
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, resolveFleetConfig } from "./config/resolve";
import { Fleet } from "./components/fleet";

const config = new pulumi.Config("kmod-fleet");

function readFleetConfig() {
  try {
    // Every problem is reported at once, before any host is touched.
    return resolveFleetConfig(config.getObject("fleet"), {
      dirExists: (dir) => fs.existsSync(dir) && fs.statSync(dir).isDirectory(),
    });
  } catch (e) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}
const fleetConfig = readFleetConfig();

const fleet = new Fleet("fleet", {
  fleet: fleetConfig,
  secret: (key) => config.requireSecret(key),
  projectDir: process.cwd(),
});

/** Per host: kernel release, OS version, and the modules built for each set. */
export const hosts = fleet.summary;
