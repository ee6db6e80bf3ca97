// The plain (non-connection) parts of the Fleet's args as typed interfaces. They mirror the
// stack config's schema (config/schema.ts, which validates them: every limit and pattern is
// there), but without unions, literal types or functions: Pulumi's component analyzer turns
// these types into the schema that Python and Go programs are generated from, and refuses
// those. Where the stack config takes a union (a parameter value as a number or a boolean,
// `hosts: all`), the args take one plain form and the schema still accepts the other.

/** Which OS the hosts run and where its developer container is. Every field overrides the base profile's. */
export interface ProfileArgs {
  /** The built-in profile the other fields override: `flatcar` (default) or `coreos`. */
  base?: string;
  /** Shell files sourced to learn the release; later files override earlier ones. */
  releaseFiles?: string[];
  versionVariable?: string;
  boardVariable?: string;
  /** update.conf files; later ones override earlier ones (/etc over /usr). */
  updateConfFiles?: string[];
  /** The update channel when no update.conf sets GROUP. */
  defaultGroup?: string;
  /** The developer container's URL template (`${GROUP}`, `${BOARD}`, `${VERSION}`). */
  devContainerUrl?: string;
  /** Its detached signature's URL; `${URL}` is the image URL. */
  signatureUrl?: string;
  /** ASCII-armored public key that must have signed the developer container. */
  signingKey?: string;
  /** Fingerprint the signature must come from (40 hex digits). */
  signingKeyFingerprint?: string;
  /** Run inside the developer container; must leave the running kernel's sources at /usr/src/linux. */
  sourcesCommand?: string;
  /** The read-only modules directory the overlay goes over. */
  modulesDir?: string;
  /** The A/B boot slots' kernel images, in slot order. */
  kernelImages?: string[];
  /** The channel's current release, its `version.txt` (`${GROUP}`, `${BOARD}`). */
  currentReleaseUrl?: string;
  /** A release's image contents listing, which names its kernel (`${GROUP}`, `${BOARD}`, `${VERSION}`). */
  releaseContentsUrl?: string;
}

/** Where the overlay, images and builds live on the hosts. */
export interface StorageArgs {
  /** Overlay upper dir on writable storage (the work dir is `<modulesRoot>.wd`). Default `/opt/modules`. */
  modulesRoot?: string;
  /** How the overlay comes back after a reboot: `mount-unit` (default) or `fstab`. */
  persistence?: string;
  /** Where developer containers are kept. Default `/var/cache/kmod-fleet`. */
  cacheDir?: string;
  /** Build trees, job folders, logs. Default `/var/lib/kmod-fleet`. */
  workDir?: string;
}

/**
 * How a host meets a staged OS update. A named type with plain fields: the component
 * package's schema (for Python and Go programs) is read from these declarations.
 */
export interface UpdatesArgs {
  /** The reboot gate: no reboot into a staged release before every module set of the host is installed for its kernel. Default `true`. */
  gate?: boolean;
  /** The longest hold, as `90s`, `30m`, `6h`, `2d` or `1h30m` (at most `30d`). Default `6h`. */
  maxRebootHold?: string;
  /** After `maxRebootHold`: `proceed` (the reboot is allowed, with a critical journal line) or `hold`. Default `proceed`. */
  afterMaxHold?: string;
  /** Build every module set for a release as soon as the hosts' channel publishes it, before any host stages it; the machine that runs Pulumi reads the release server. Default `false`. */
  buildAhead?: boolean;
}

/** A git repository at a pinned ref. */
export interface GitSourceArgs {
  url: string;
  /** A commit hash or a version tag. */
  ref: string;
}

/** Kernel options to build as modules from the kernel's own tree. */
export interface InTreeSourceArgs {
  /** `OPTION`, `CONFIG_OPTION=m`, or `OPTION=n` to keep an optional feature off. */
  options: string[];
  /** The `M=` directories; derived from the new modules when left out. */
  directories?: string[];
}

/** Where a module set's sources are: exactly one of the three. */
export interface SourceArgs {
  /** A local folder (relative to `projectDir`), uploaded to the builder. */
  dir?: string;
  git?: GitSourceArgs;
  inTree?: InTreeSourceArgs;
}

/** Which hosts get a module set: every host (the default, or `all: true`), or the hosts named or labelled so. */
export interface HostSelectorArgs {
  all?: boolean;
  names?: string[];
  labels?: string[];
}

export interface ModuleSetArgs {
  name: string;
  source: SourceArgs;
  /** Modules to modprobe, in this order. */
  load: string[];
  /**
   * Module parameters, `{ module: { name: value } }`, for modules in `load`. Values are
   * strings (`"3"`, `"Y"`); numbers and booleans are taken too.
   */
  parameters?: Record<string, Record<string, string>>;
  hosts?: HostSelectorArgs;
}

/** Where the artifact store is. */
export interface StoreArgs {
  /** A local folder, relative to the project or absolute. Default `.kmod-fleet/artifacts`. */
  path?: string;
}

export interface BuildArgs {
  /** Host names or labels that may build. Default: any host that runs the kernel. */
  builders?: string[];
  store?: StoreArgs;
}

/** What the schema takes for `moduleSets[].hosts`: `{ all: true }` is the stack config's `all`. */
export function hostSelectorForSchema(hosts: unknown): unknown {
  if (hosts === null || typeof hosts !== "object" || Array.isArray(hosts)) return hosts;
  const { all, ...rest } = hosts as HostSelectorArgs;
  if (all === true && Object.keys(rest).length === 0) return "all";
  if (all === false || all === undefined) return rest;
  return hosts; // all: true beside names or labels: the schema names the mistake
}
