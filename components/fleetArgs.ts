// The Fleet component's arguments, as a Pulumi program passes them. The ways to reach a host
// (address, port, user, host key, private key and passphrase, for the host and its jump
// host, in `hosts[]` and `defaults`) may be Inputs: the outputs of the resource that creates
// the machine. Everything that decides which resources exist (host names, labels, module
// sets, profile, storage, bounds) is a plain value, because the resources are registered
// while the program runs.
//
// Validation is the stack config's own code (config/resolve.ts) run on a plain copy of the
// args, so a mistake gets the same message, by path, in both. In that copy an Input that is
// not a plain value stands in as a placeholder valid for its field. Once its value is known
// (during `up` after the machine's resource was created, or at once for a machine that
// exists), the host is resolved again with the real values, and an invalid one fails that
// host's resources with the same message.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEY, ConfigError, resolveFleetConfig, type ResolvedFleet, type ResolvedHost } from "../config/resolve";
import { componentSchemas } from "../config/schema";
import { FLEET_DEFAULTS } from "../config/defaults";
import { hostSelectorForSchema, type BuildArgs, type ModuleSetArgs, type ProfileArgs, type StorageArgs, type UpdatesArgs } from "./fleetArgTypes";
import type { ConnectionSpec } from "../host/ssh/session";
import type { FactsProbe, ProbedFacts } from "./providers/hostFacts/hostFacts";
import type { InventoryProber } from "./inventory";
import { isPlainObject, normalizeConnections, splitHostKeys } from "../host/commandConnection";

export type FactsProber = (spec: ConnectionSpec, probe: FactsProbe) => Promise<ProbedFacts>;

/**
 * How to log in: exactly one of `privateKey`, `privateKeyConfig`, `keyFile`, `agent` (or
 * `agentSocketPath`), `password` and `passwordConfig`. Default:
 * `{ privateKeyConfig: "sshPrivateKey" }`. The key, its passphrase and the password stay
 * Pulumi secrets all the way into the providers' state; they are never printed.
 */
export interface AuthArgs {
  /** The private key (OpenSSH or PEM text), e.g. `config.requireSecret("sshKey")` or a generated key's output. Made a secret if it is not one. */
  privateKey?: pulumi.Input<string>;
  /** Name of a secret stack config key in the `kmod-fleet` namespace that holds the key (`pulumi config set --secret kmod-fleet:<name> < key`). */
  privateKeyConfig?: string;
  /** Path of a private key file on the machine that runs pulumi, read when the program runs and made a secret. */
  keyFile?: string;
  /** ssh-agent at `$SSH_AUTH_SOCK`. */
  agent?: boolean;
  /** ssh-agent at this socket path. */
  agentSocketPath?: string;
  /** Password authentication (the host's sshd must allow it), made a secret. */
  password?: pulumi.Input<string>;
  /** Name of a secret stack config key in the `kmod-fleet` namespace that holds the password. */
  passwordConfig?: string;
  /** The key's passphrase, made a secret. At most one of `passphrase` and `passphraseConfig`; default none. */
  passphrase?: pulumi.Input<string>;
  /** Name of a secret stack config key in the `kmod-fleet` namespace that holds the passphrase. */
  passphraseConfig?: string;
}

/** How to reach a host, or its jump host. */
export interface ConnectionArgs {
  /** Host name or IP address to SSH to. Required (or `host`). */
  address?: pulumi.Input<string>;
  /** SSH port. Default 22. */
  port?: pulumi.Input<number>;
  /** Login user; any user but root runs the steps with `sudo -n`. Default `core` (Flatcar's); a jump host's default is the host's user. */
  user?: pulumi.Input<string>;
  /** Default `{ privateKeyConfig: "sshPrivateKey" }`; a jump host's default is the host's. */
  auth?: AuthArgs;
  /**
   * The pinned public SSH key, as `ssh-keyscan` prints it without the host name
   * (`ssh-ed25519 AAAA...`), or its `SHA256:...` fingerprint, or several on separate
   * lines. Required unless `insecureIgnoreHostKey`: a host that presents another key is
   * refused.
   */
  hostKey?: pulumi.Input<string>;
  /** Turns host key verification off; every run then warns, naming the host. Never the default; not together with `hostKey`. */
  insecureIgnoreHostKey?: boolean;
  /** @pulumi/command's name for `address` (host/commandConnection.ts maps each of these). */
  host?: pulumi.Input<string>;
  /** @pulumi/command's name for `auth.privateKey`. */
  privateKey?: pulumi.Input<string>;
  /** @pulumi/command's name for `auth.passphrase`. */
  privateKeyPassword?: pulumi.Input<string>;
  /** @pulumi/command's name for `auth.password`. */
  password?: pulumi.Input<string>;
  /** @pulumi/command's name for `auth.agentSocketPath`. */
  agentSocketPath?: string;
  /** @pulumi/command's name for `jump`. */
  proxy?: ConnectionArgs;
  /** @pulumi/command's name for `connectAttempts`. */
  dialErrorLimit?: number;
  /** @pulumi/command's name for `connectTimeoutSeconds`. */
  perDialTimeout?: number;
}

/** Any host field but `name` and `address`, shared by all hosts; a host's own field wins. */
export interface HostDefaultsArgs extends ConnectionArgs {
  /** A bastion to reach the host through, like `ssh -J`. Default none. */
  jump?: ConnectionArgs;
  /** Labels that `moduleSets[].hosts.labels` select hosts by. Default none. */
  labels?: string[];
  /** Seconds to wait for SSH to answer, per attempt. Default 15. */
  connectTimeoutSeconds?: number;
  /** Connection attempts (with backoff) before the host counts as unreachable. Default 3. */
  connectAttempts?: number;
  /** Seconds a module build may run. Default 3600. */
  buildTimeoutSeconds?: number;
  /** Seconds any other step may run (downloads of the developer container included). Default 900. */
  commandTimeoutSeconds?: number;
}

/** One host of the fleet. */
export interface HostArgs extends HostDefaultsArgs {
  /** The host's name in the fleet ([a-z0-9-]): its resources are named after it (`<name>-facts`, `<name>-overlay`, ...). Required. */
  name: string;
}

/**
 * The fleet: the same fields as the stack config `kmod-fleet:fleet` (README, "Configuration";
 * config/schema.ts), with Inputs where a host is reached.
 */
export interface FleetArgs {
  /** The hosts. At least one. */
  hosts: HostArgs[];
  /** Host fields shared by all hosts. Default none. */
  defaults?: HostDefaultsArgs;
  /** Which OS the hosts run and where its developer container is. Default: Flatcar's (`{ base: "flatcar" }`), every field overridable. */
  profile?: ProfileArgs;
  /** Where the running kernel's config is, tried in order; `${KERNEL}` is `uname -r`. Default `/proc/config.gz`, `/boot/config-${KERNEL}`, `/usr/boot/config-${KERNEL}`, `/usr/lib/modules/${KERNEL}/build/.config`. */
  kernelConfigSources?: string[];
  /** Where the overlay, images and builds live on the hosts. Defaults `/opt/modules`, `mount-unit`, `/var/cache/kmod-fleet`, `/var/lib/kmod-fleet`. */
  storage?: StorageArgs;
  /** The modules to build and load, and on which hosts. Default none (only the overlay and the host facts). */
  moduleSets?: ModuleSetArgs[];
  /** Which hosts may build (`builders`: host names or labels; default any host) and where the artifact store is (`store.path`, default `.kmod-fleet/artifacts` under `projectDir`). */
  build?: BuildArgs;
  /**
   * How a host meets a staged OS update: `gate` (default true) holds the reboot into it until
   * every module set of the host is installed for its kernel, at most `maxRebootHold`
   * (default `6h`), after which `afterMaxHold` applies (`proceed`, the default, or `hold`).
   */
  updates?: UpdatesArgs;
  /**
   * A host that cannot be probed changes nothing, and by default the run fails at its end
   * naming it (so that preview and up exit non-zero for a pipeline); true makes it a warning.
   * Default false.
   */
  allowUnreachableHosts?: boolean;
  /** Folder that relative `moduleSets[].source.dir` paths and `build.store.path` are relative to. Default: the current directory, which Pulumi sets to the project's folder. */
  projectDir?: string;
}

/** The Fleet's resource options; the probes are replaced in unit tests (by default they probe the host over SSH). */
export interface FleetOptions extends pulumi.ComponentResourceOptions {
  probe?: FactsProber;
  inventory?: InventoryProber;
  /**
   * The args are the stack config `kmod-fleet:fleet` as read (the program, index.ts): plain
   * values, checked once, with the stack config's own schema and named so in the error.
   */
  fromStackConfig?: boolean;
}

/**
 * Invalid Fleet args: every problem, by path, with the messages the stack config gets. A
 * RunError, so Pulumi shows the message alone, without a stack trace.
 */
export class FleetArgsError extends pulumi.RunError {
  constructor(
    public readonly problems: string[],
    subject: string,
  ) {
    super(new ConfigError(problems, subject).message);
    this.name = "FleetArgsError";
  }
}

/** Where an Input may stand, and the placeholder used while its value is not known. */
const INPUT_PATH = /^(defaults|hosts\[(\d+)\])(\.jump)?\.(address|port|user|hostKey|auth\.privateKey|auth\.passphrase|auth\.password)$/;
const PLACEHOLDERS: Record<string, unknown> = {
  // "<address>" is also what the host-key message says when there is no address.
  address: "<address>",
  port: FLEET_DEFAULTS.port,
  user: FLEET_DEFAULTS.user,
  hostKey: `SHA256:${"A".repeat(43)}`,
  "auth.privateKey": "<private key>",
  "auth.passphrase": "<passphrase>",
  "auth.password": "<password>",
};

function isDeferred(v: unknown): boolean {
  return pulumi.Output.isInstance(v) || (v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function");
}

interface Deferred {
  path: string;
  /** The host it belongs to; undefined for `defaults` (every host may use it). */
  host?: number;
  value: unknown;
}

/**
 * The args as the schema sees them: plain values as they are, each Output or Promise in an
 * Input field as its value in `known` or else a placeholder. Outputs elsewhere are
 * `misplaced` (they would decide which resources exist).
 */
function plainCopy(args: FleetArgs, known: Map<unknown, unknown>): { plain: unknown; deferred: Deferred[]; misplaced: string[] } {
  const deferred: Deferred[] = [];
  const misplaced: string[] = [];
  const copy = (v: unknown, path: string): unknown => {
    if (isDeferred(v)) {
      const m = INPUT_PATH.exec(path);
      if (!m) {
        misplaced.push(path);
        return undefined;
      }
      deferred.push({ path, host: m[2] === undefined ? undefined : Number(m[2]), value: v });
      if (!known.has(v)) return PLACEHOLDERS[m[4]];
      return m[4] === "hostKey" ? splitHostKeys(known.get(v)) : known.get(v);
    }
    if (Array.isArray(v)) return v.map((x, i) => copy(x, `${path}[${i}]`));
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x, path ? `${path}.${k}` : k)]));
    return v;
  };
  const { projectDir: _projectDir, ...fleet } = args;
  return { plain: copy(fleet, ""), deferred, misplaced };
}

/** The args in the form the stack config's schema reads (see commandConnection.ts and fleetArgTypes.ts). */
function forSchema(args: FleetArgs, problems: string[]): FleetArgs {
  const normalized = normalizeConnections(args, problems);
  if (!Array.isArray(normalized.moduleSets)) return normalized;
  const moduleSets = normalized.moduleSets.map((m) => (isPlainObject(m) && m.hosts !== undefined ? { ...m, hosts: hostSelectorForSchema(m.hosts) } : m));
  return { ...normalized, moduleSets } as FleetArgs;
}

export interface ResolveArgsOptions {
  /** Names the args in the error's first line, e.g. `Fleet "fleet" args`. */
  subject: string;
  dirExists?: (dir: string) => boolean;
  /** Values of Inputs that are known by now (Output or Promise -> value); the others are placeholders. */
  known?: Map<unknown, unknown>;
}

/**
 * Validates the args with the stack config's code and fills in every default. Throws
 * FleetArgsError with every problem. Connection fields whose Inputs are not in `known` hold
 * placeholders; everything else is exact. Exported for the unit tests.
 */
export function resolveFleetArgs(args: FleetArgs, opts: ResolveArgsOptions): ResolvedFleet {
  if (!isPlainObject(args)) throw new FleetArgsError(["(top level): expected the Fleet's args, an object such as { hosts: [...] }"], opts.subject);
  const shapeProblems: string[] = [];
  const { plain, misplaced } = plainCopy(forSchema(args, shapeProblems), opts.known ?? new Map());
  let problems: string[] = [];
  let fleet: ResolvedFleet | undefined;
  try {
    fleet = resolveFleetConfig(plain, { schemas: componentSchemas, subject: opts.subject, dirExists: opts.dirExists });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems = e.problems;
  }
  // A misplaced Output was left out of the copy; what the schema says about its absence is not news.
  const about = (p: string, at: string) => p.startsWith(`${at}:`) || p.startsWith(`${at}.`) || p.startsWith(`${at}[`);
  problems = [
    ...shapeProblems,
    ...misplaced.map((at) => `${at}: expected a plain value, not an Output or a Promise: kmod-fleet plans the fleet's resources from it while the program runs`),
    ...problems.filter((p) => !misplaced.some((at) => about(p, at))),
  ];
  if (problems.length > 0 || !fleet) throw new FleetArgsError(problems, opts.subject);
  return fleet;
}

export interface PlannedFleet {
  /**
   * The fleet as far as it is known while the program runs: hosts, module sets, profile,
   * storage and bounds are exact; a connection field whose Input is not a plain value holds
   * a placeholder (use `host(i)` for those).
   */
  fleet: ResolvedFleet;
  /**
   * Host i resolved with the values of its Inputs. Unknown while one of them is unknown (a
   * machine created in this run, during a preview); fails with FleetArgsError when a value
   * turns out invalid.
   */
  host(i: number): pulumi.Output<ResolvedHost>;
}

/**
 * The stack config `kmod-fleet:fleet`: plain values, so resolved once, with the stack
 * config's schema; a mistake is a FleetArgsError that names the config key.
 */
export function planStackConfig(raw: unknown, opts: Pick<ResolveArgsOptions, "dirExists">): PlannedFleet {
  let fleet: ResolvedFleet;
  try {
    fleet = resolveFleetConfig(raw, { dirExists: opts.dirExists });
  } catch (e) {
    if (e instanceof ConfigError) throw new FleetArgsError(e.problems, `${CONFIG_KEY} config`);
    throw e;
  }
  return { fleet, host: (i) => pulumi.output(fleet.hosts[i]) };
}

/**
 * Host i alone, with the defaults it may take fields from: all that its own Inputs' values
 * can change. A problem keeps the host's path in the whole args.
 */
function resolveHostAlone(args: FleetArgs, i: number, opts: ResolveArgsOptions): ResolvedHost {
  try {
    return resolveFleetArgs({ ...(args.defaults !== undefined ? { defaults: args.defaults } : {}), hosts: [args.hosts[i]] }, opts).hosts[0];
  } catch (e) {
    if (!(e instanceof FleetArgsError)) throw e;
    throw new FleetArgsError(e.problems.map((p) => p.replace(/^hosts\[0\]/, `hosts[${i}]`)), opts.subject);
  }
}

/** Validates the args at once (throws FleetArgsError) and plans the fleet. */
export function planFleet(args: FleetArgs, opts: Omit<ResolveArgsOptions, "known">): PlannedFleet {
  const fleet = resolveFleetArgs(args, opts);
  const { deferred } = plainCopy(forSchema(args, []), new Map());
  const valuesOf = (values: Deferred[], vs: unknown[]) => new Map(values.map((d, k) => [d.value, vs[k]]));
  const resolveWith = (values: Deferred[]) => pulumi.all(values.map((d) => d.value)).apply((vs) => resolveFleetArgs(args, { subject: opts.subject, known: valuesOf(values, vs) }));
  // Every host without Inputs of its own is exact once the defaults' Inputs are known: one
  // resolution (none without such Inputs) serves them all. Resolving the whole fleet again
  // for each host made planning grow with the square of the number of hosts.
  const shared = deferred.filter((d) => d.host === undefined);
  let withDefaults: pulumi.Output<ResolvedFleet> | undefined;
  return {
    fleet,
    host(i: number) {
      // Only the host's own Inputs and the defaults' can change it: another host's address,
      // unknown in a preview, must not hold this one back.
      const own = [...shared, ...deferred.filter((d) => d.host === i)];
      if (own.length > shared.length) return pulumi.all(own.map((d) => d.value)).apply((vs) => resolveHostAlone(args, i, { subject: opts.subject, known: valuesOf(own, vs) }));
      withDefaults ??= shared.length > 0 ? resolveWith(shared) : pulumi.output(fleet);
      return withDefaults.apply((f) => f.hosts[i]);
    },
  };
}
