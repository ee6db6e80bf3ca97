// Every default of the fleet config, in one table: config/resolve.ts fills them in from here,
// and test/unit/defaults.test.ts checks that the README's configuration table and the
// Fleet's typed args (components/fleetArgs.ts, fleetArgTypes.ts) say the same. The host
// folders are config/hostPaths.ts's.
import { HOST_PATHS } from "./hostPaths";

export const FLEET_DEFAULTS = {
  /** SSH port. */
  port: 22,
  /** Login user: Flatcar's. */
  user: "core",
  /** The private key, from this secret stack config key. */
  auth: { privateKeyConfig: "sshPrivateKey" },
  connectTimeoutSeconds: 15,
  connectAttempts: 3,
  buildTimeoutSeconds: 3600,
  commandTimeoutSeconds: 900,
  /** The built-in profile the fleet's `profile` starts from (config/profiles.ts). */
  profileBase: "flatcar",
  /** Where the running kernel's config is, tried in order; `${KERNEL}` is `uname -r`. */
  kernelConfigSources: ["/proc/config.gz", "/boot/config-${KERNEL}", "/usr/boot/config-${KERNEL}", "/usr/lib/modules/${KERNEL}/build/.config"],
  /** Where kmod-fleet keeps things on the hosts (the overlay's work dir is `<modulesRoot>.wd`). */
  storage: { modulesRoot: HOST_PATHS.modulesRoot, persistence: "mount-unit", cacheDir: HOST_PATHS.cacheDir, workDir: HOST_PATHS.workDir },
  /** The local artifact store, under the Pulumi project (gitignored). */
  storePath: ".kmod-fleet/artifacts",
  allowUnreachableHosts: false,
  /** The reboot gate: on, a hold of at most 6 hours (a working day's rebuild and retry), then the reboot proceeds. */
  updates: { gate: true, maxRebootHold: "6h", afterMaxHold: "proceed", buildAhead: false },
} as const;
