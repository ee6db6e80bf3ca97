// Validates the raw stack config and fills in every default in one place, so the rest of
// the program sees complete, checked values. All problems are reported at once, each
// with its path in the config (`hosts[2].hostKey: ...`).
import type { z } from "zod";
import { buildSchema, moduleSetSchema, optionSymbol, profileSchema, stackConfigSchemas, storageSchema, type ComponentAuthConfig, type FleetConfig, type FleetSchemas, type ModuleSetConfig, type RegistryStoreConfig } from "./schema";
import { builtInProfiles, type Profile } from "./profiles";
import { FLEET_DEFAULTS } from "./defaults";
import { reservedParameterKeys, resolveParameters } from "./parameters";
import { overlappingFolders } from "./storageFolders";
import { durationSeconds, updatesSchema, type ResolvedUpdates } from "./updates";

export const CONFIG_KEY = "kmod-fleet:fleet";

/** How to log in: a stack config's auth, or the Fleet component's (which may hold the key itself). */
export type ResolvedAuth = ComponentAuthConfig;

export interface ResolvedJump {
  address: string;
  port: number;
  user: string;
  auth: ResolvedAuth;
  /** Pinned keys, or "insecure" when the user turned verification off explicitly. */
  hostKeys: string[] | "insecure";
}

export interface ResolvedHost {
  name: string;
  address: string;
  port: number;
  user: string;
  auth: ResolvedAuth;
  hostKeys: string[] | "insecure";
  jump?: ResolvedJump;
  labels: string[];
  connectTimeoutSeconds: number;
  connectAttempts: number;
  buildTimeoutSeconds: number;
  commandTimeoutSeconds: number;
}

export type ModuleSource =
  | { kind: "dir"; dir: string }
  | { kind: "git"; url: string; ref: string }
  | { kind: "inTree"; options: string[]; directories: string[] };

export interface ResolvedModuleSet {
  name: string;
  source: ModuleSource;
  load: string[];
  /** module -> "k=v k2=v2", as an /etc/modprobe.d options line takes it. */
  parameters: Record<string, string>;
  /** Names of the hosts that get this set. */
  hosts: string[];
}

export interface ResolvedStorage {
  modulesRoot: string;
  modulesWorkDir: string;
  persistence: "mount-unit" | "fstab";
  cacheDir: string;
  workDir: string;
}

export interface ResolvedBuild {
  /** Host names or labels that may build; empty: any host that runs the kernel. */
  builders: string[];
  /** The local artifact store's folder, relative to the project unless absolute (unused with a registry). */
  storePath: string;
  /** The shared store on an OCI registry, when build.store.registry sets one. */
  storeRegistry?: RegistryStoreConfig;
}

export interface ResolvedFleet {
  hosts: ResolvedHost[];
  profile: Profile;
  kernelConfigSources: string[];
  storage: ResolvedStorage;
  moduleSets: ResolvedModuleSet[];
  build: ResolvedBuild;
  /** A host that cannot be probed is a warning, not a failed run (components/fleetOutcome.ts). */
  allowUnreachableHosts: boolean;
  /** The reboot gate's settings. */
  updates: ResolvedUpdates;
}

/** Under the Pulumi project, gitignored. */
export const DEFAULT_STORE_PATH = FLEET_DEFAULTS.storePath;

export class ConfigError extends Error {
  /** `subject` names what was checked: the stack config by default, or a Fleet's args. */
  constructor(
    public readonly problems: string[],
    subject = `${CONFIG_KEY} config`,
  ) {
    super(`invalid ${subject} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

export const DEFAULT_AUTH: ResolvedAuth = FLEET_DEFAULTS.auth;

export const DEFAULT_KERNEL_CONFIG_SOURCES: string[] = [...FLEET_DEFAULTS.kernelConfigSources];

/** Build trees, job folders, the reboot gate's folder (storage.workDir). */
export const DEFAULT_WORK_DIR: string = FLEET_DEFAULTS.storage.workDir;

export const DEFAULT_UPDATES: ResolvedUpdates = {
  gate: FLEET_DEFAULTS.updates.gate,
  maxRebootHoldSeconds: durationSeconds(FLEET_DEFAULTS.updates.maxRebootHold)!,
  afterMaxHold: FLEET_DEFAULTS.updates.afterMaxHold,
  buildAhead: FLEET_DEFAULTS.updates.buildAhead,
};

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("") || "(top level)";
}

/** A refused record key says why (zod's own message is only "Invalid key in record"). */
function messageOf(issue: z.core.$ZodIssue): string {
  return issue.code === "invalid_key" && issue.issues.length > 0 ? issue.issues.map((i) => i.message).join("; ") : issue.message;
}

export interface ResolveOptions {
  /** Checks local source folders (kept out of here so this stays free of I/O). */
  dirExists?: (dir: string) => boolean;
  /** The stack config's schemas (default) or the Fleet component's (config/schema.ts). */
  schemas?: FleetSchemas;
  /** What ConfigError's first line names (default: the stack config key). */
  subject?: string;
}

/**
 * Checks `raw` (the value of the `kmod-fleet:fleet` config key, or a Fleet's args with
 * their Inputs made plain by components/fleetArgs.ts) and returns the complete fleet.
 * Throws ConfigError listing every problem.
 */
export function resolveFleetConfig(raw: unknown, opts: ResolveOptions = {}): ResolvedFleet {
  const schemas = opts.schemas ?? stackConfigSchemas;
  if (raw === undefined || raw === null) {
    throw new ConfigError([`${CONFIG_KEY}: missing; set it in Pulumi.<stack>.yaml (see Pulumi.example.yaml)`]);
  }
  // Schema and semantic problems are reported together: when the schema refuses something,
  // the semantic checks still run on every field that is valid on its own.
  const parsed = schemas.fleet.safeParse(raw);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((i) => `${pathOf(i.path)}: ${messageOf(i)}`);
  reservedParameterKeys((raw as { moduleSets?: unknown }).moduleSets, problems);
  const cfg = (parsed.success ? parsed.data : salvage(raw, schemas)) as FleetConfig;
  const hosts = cfg.hosts.map((h, i) => resolveHost(cfg, i, problems));

  const seen = new Map<string, number>();
  cfg.hosts.forEach((h, i) => {
    if (h.name === undefined) return;
    if (seen.has(h.name)) problems.push(`hosts[${i}].name: "${h.name}" is already used by hosts[${seen.get(h.name)}]`);
    else seen.set(h.name, i);
  });

  const profile: Profile = { ...builtInProfiles[cfg.profile?.base ?? FLEET_DEFAULTS.profileBase], ...stripUndefined(cfg.profile ?? {}) };
  // After ${URL} is replaced, the signature URL must still be an http(s) URL (it is curl's argument).
  if (!/^https?:\/\/\S+$/.test(profile.signatureUrl.replaceAll("${URL}", "https://example.invalid/image"))) {
    problems.push(`profile.signatureUrl: expected an http(s) URL or a template such as \${URL}.sig`);
  }

  const moduleSets = (cfg.moduleSets ?? []).map((s, i) => resolveModuleSet(s, i, hosts, problems, opts.dirExists));
  const setNames = new Set<string>();
  moduleSets.forEach((s, i) => {
    if (s.name === undefined) return;
    if (setNames.has(s.name)) problems.push(`moduleSets[${i}].name: "${s.name}" is used by another module set`);
    setNames.add(s.name);
  });
  duplicateModules(moduleSets, problems);

  const modulesRoot = cfg.storage?.modulesRoot ?? FLEET_DEFAULTS.storage.modulesRoot;
  const storage: ResolvedStorage = {
    modulesRoot,
    modulesWorkDir: `${modulesRoot}.wd`,
    persistence: cfg.storage?.persistence ?? FLEET_DEFAULTS.storage.persistence,
    cacheDir: cfg.storage?.cacheDir ?? FLEET_DEFAULTS.storage.cacheDir,
    workDir: cfg.storage?.workDir ?? FLEET_DEFAULTS.storage.workDir,
  };
  overlappingFolders(storage, profile.modulesDir, { storage: cfg.storage ?? {}, modulesDir: cfg.profile?.modulesDir !== undefined }, problems);

  const builders = cfg.build?.builders ?? [];
  builders.forEach((b, i) => {
    if (!hosts.some((h) => h.name === b || h.labels.includes(b))) problems.push(`build.builders[${i}]: no host is named or labelled "${b}"`);
  });
  const build: ResolvedBuild = { builders, storePath: cfg.build?.store?.path ?? DEFAULT_STORE_PATH };
  if (cfg.build?.store?.registry) build.storeRegistry = cfg.build.store.registry;

  if (problems.length > 0) throw new ConfigError(problems, opts.subject);
  const updates: ResolvedUpdates = {
    gate: cfg.updates?.gate ?? DEFAULT_UPDATES.gate,
    maxRebootHoldSeconds: (cfg.updates?.maxRebootHold && durationSeconds(cfg.updates.maxRebootHold)) || DEFAULT_UPDATES.maxRebootHoldSeconds,
    afterMaxHold: cfg.updates?.afterMaxHold ?? DEFAULT_UPDATES.afterMaxHold,
    buildAhead: cfg.updates?.buildAhead ?? DEFAULT_UPDATES.buildAhead,
  };
  return { hosts, profile, kernelConfigSources: cfg.kernelConfigSources ?? DEFAULT_KERNEL_CONFIG_SOURCES, storage, moduleSets, build, allowUnreachableHosts: cfg.allowUnreachableHosts ?? FLEET_DEFAULTS.allowUnreachableHosts, updates };
}

function resolveHost(cfg: FleetConfig, i: number, problems: string[]): ResolvedHost {
  const h = cfg.hosts[i];
  const d = cfg.defaults ?? {};
  const at = `hosts[${i}]`;
  if (h.hostKey !== undefined && h.insecureIgnoreHostKey) {
    problems.push(`${at}.insecureIgnoreHostKey: cannot be set together with hostKey; remove one of them`);
  }
  // A host's own field wins over defaults, as for every other field: a host's
  // insecureIgnoreHostKey overrides defaults.hostKey, and a host's hostKey overrides
  // defaults.insecureIgnoreHostKey.
  const own = h.hostKey !== undefined || h.insecureIgnoreHostKey !== undefined;
  const hostKey = own ? h.hostKey : d.hostKey;
  const insecure = own ? h.insecureIgnoreHostKey : d.insecureIgnoreHostKey;
  if (hostKey === undefined && !insecure) {
    problems.push(`${at}.hostKey: required: pin the host's public SSH key (e.g. the output of \`ssh-keyscan -p ${h.port ?? d.port ?? FLEET_DEFAULTS.port} ${h.address ?? "<address>"}\` without the host name), or set insecureIgnoreHostKey: true for this host`);
  }
  const jumpCfg = h.jump ?? d.jump;
  let jump: ResolvedJump | undefined;
  if (jumpCfg) {
    const jumpKey = jumpCfg.hostKey;
    if (jumpKey === undefined && !jumpCfg.insecureIgnoreHostKey) {
      problems.push(`${at}.jump.hostKey: required: pin the jump host's public SSH key, or set jump.insecureIgnoreHostKey: true`);
    }
    jump = {
      address: jumpCfg.address,
      port: jumpCfg.port ?? FLEET_DEFAULTS.port,
      user: jumpCfg.user ?? h.user ?? d.user ?? FLEET_DEFAULTS.user,
      auth: jumpCfg.auth ?? h.auth ?? d.auth ?? DEFAULT_AUTH,
      hostKeys: jumpKey === undefined ? "insecure" : [jumpKey].flat(),
    };
  }
  return {
    name: h.name,
    address: h.address,
    port: h.port ?? d.port ?? FLEET_DEFAULTS.port,
    user: h.user ?? d.user ?? FLEET_DEFAULTS.user,
    auth: h.auth ?? d.auth ?? DEFAULT_AUTH,
    hostKeys: hostKey === undefined ? "insecure" : [hostKey].flat(),
    jump,
    labels: [...new Set([...(d.labels ?? []), ...(h.labels ?? [])])],
    connectTimeoutSeconds: h.connectTimeoutSeconds ?? d.connectTimeoutSeconds ?? FLEET_DEFAULTS.connectTimeoutSeconds,
    connectAttempts: h.connectAttempts ?? d.connectAttempts ?? FLEET_DEFAULTS.connectAttempts,
    buildTimeoutSeconds: h.buildTimeoutSeconds ?? d.buildTimeoutSeconds ?? FLEET_DEFAULTS.buildTimeoutSeconds,
    commandTimeoutSeconds: h.commandTimeoutSeconds ?? d.commandTimeoutSeconds ?? FLEET_DEFAULTS.commandTimeoutSeconds,
  };
}

function resolveModuleSet(s: ModuleSetConfig, i: number, hosts: ResolvedHost[], problems: string[], dirExists?: (dir: string) => boolean): ResolvedModuleSet {
  const at = `moduleSets[${i}]`;
  let source: ModuleSource;
  if (s.source === undefined) {
    source = { kind: "dir", dir: "" }; // refused by the schema; only the other checks go on
  } else if (s.source.dir !== undefined) {
    source = { kind: "dir", dir: s.source.dir };
    if (dirExists && !dirExists(s.source.dir)) problems.push(`${at}.source.dir: folder ${s.source.dir} does not exist (relative paths are relative to the Pulumi project)`);
  } else if (s.source.git !== undefined) {
    source = { kind: "git", ...s.source.git };
  } else {
    const inTree = s.source.inTree!;
    source = { kind: "inTree", options: inTree.options.map((o) => (o.endsWith("=n") ? `${optionSymbol(o)}=n` : optionSymbol(o))), directories: inTree.directories ?? [] };
    sameOptionTwice(inTree.options, `${at}.source.inTree.options`, problems);
  }
  sameModuleTwice(s.load ?? [], `${at}.load`, problems);

  let selected: string[];
  if (s.hosts === undefined || s.hosts === "all") {
    selected = hosts.map((h) => h.name);
  } else {
    const names = s.hosts.names ?? [];
    const labels = s.hosts.labels ?? [];
    names.forEach((n, j) => {
      if (!hosts.some((h) => h.name === n)) problems.push(`${at}.hosts.names[${j}]: no host is named "${n}"`);
    });
    labels.forEach((l, j) => {
      if (!hosts.some((h) => h.labels.includes(l))) problems.push(`${at}.hosts.labels[${j}]: no host has the label "${l}"`);
    });
    selected = hosts.filter((h) => names.includes(h.name) || h.labels.some((l) => labels.includes(l))).map((h) => h.name);
  }

  const parameters = resolveParameters(s, at, problems);
  return { name: s.name, source, load: s.load ?? [], parameters, hosts: selected };
}

/** An option asked for twice, e.g. as a module and off (A, A=n): the builder would get both. */
function sameOptionTwice(options: string[], at: string, problems: string[]): void {
  const first = new Map<string, number>();
  options.forEach((o, j) => {
    const k = first.get(optionSymbol(o));
    if (k === undefined) return void first.set(optionSymbol(o), j);
    const fix = options[k].endsWith("=n") === o.endsWith("=n") ? "list it once" : "an option is either built as a module or kept off (=n), not both";
    problems.push(`${at}[${j}]: ${o} names ${optionSymbol(o)} again, as options[${k}] (${options[k]}) does; ${fix}`);
  });
}

/** A module listed twice in `load`, maybe once with '-' and once with '_' (the same module). */
function sameModuleTwice(load: string[], at: string, problems: string[]): void {
  const first = new Map<string, number>();
  load.forEach((m, j) => {
    const k = first.get(m.replaceAll("-", "_"));
    if (k === undefined) first.set(m.replaceAll("-", "_"), j);
    else problems.push(`${at}[${j}]: "${m}" is the module of load[${k}] ("${load[k]}") again ('-' and '_' are the same in module names); list it once`);
  });
}

/**
 * Two sets that build a module of the same name on one host: depmod would pick one of the
 * two files and the other set would load a module it did not build. Module names are
 * compared as the kernel does (`-` and `_` are the same).
 */
function duplicateModules(sets: ResolvedModuleSet[], problems: string[]): void {
  const owner = new Map<string, { set: number; hosts: string[] }>();
  sets.forEach((s, i) => {
    s.load.forEach((m, j) => {
      const key = m.replaceAll("-", "_");
      const first = owner.get(key);
      if (!first) return void owner.set(key, { set: i, hosts: s.hosts });
      if (first.set === i) return;
      const shared = s.hosts.filter((h) => first.hosts.includes(h));
      if (shared.length > 0) {
        problems.push(`moduleSets[${i}].load[${j}]: module "${m}" is also built by moduleSets[${first.set}] ("${sets[first.set].name}") on ${shared.join(", ")}; a module name may belong to one set per host`);
      }
    });
  });
}

/**
 * What a refused config still says: every field that is valid on its own, so that the
 * semantic checks can run next to the schema's complaints. Only used for error reporting.
 */
function salvage(raw: unknown, schemas: FleetSchemas): FleetConfig {
  const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const fields = (schema: z.ZodObject, v: unknown): any => {
    const o = obj(v);
    const out: Record<string, unknown> = {};
    for (const [k, field] of Object.entries(schema.shape)) {
      const r = (field as z.ZodType).safeParse(o[k]);
      if (r.success && r.data !== undefined) out[k] = r.data;
      // A malformed host key is still a host key: "required" would be a second, wrong complaint.
      else if (k === "hostKey" && o[k] !== undefined) out[k] = String(o[k]);
    }
    return out;
  };
  const list = (v: unknown) => (Array.isArray(v) ? v : []);
  const top = obj(raw);
  const defaults = fields(schemas.defaults, top.defaults);
  const hosts = list(top.hosts).map((h) => {
    const host = fields(schemas.host, h);
    if (obj(h).jump !== undefined && host.jump === undefined) host.jump = fields(schemas.jump, obj(h).jump);
    return host;
  });
  return {
    defaults,
    hosts,
    profile: fields(profileSchema, top.profile),
    storage: fields(storageSchema, top.storage),
    moduleSets: list(top.moduleSets).map((s) => fields(moduleSetSchema, s)),
    build: fields(buildSchema, top.build),
    updates: fields(updatesSchema, top.updates),
  } as FleetConfig;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
