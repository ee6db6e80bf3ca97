// The stack configuration of kmod-fleet, as the user writes it under the config key
// `kmod-fleet:fleet` (see Pulumi.example.yaml). Every field is validated here; defaults are
// filled in by config/resolve.ts (from config/defaults.ts), not here, so that "what the user
// wrote" stays visible.
import { z } from "zod";
import { isPlainAbsolutePath } from "./paths";
import { SET_NAME } from "./names";
import { updatesSchema } from "./updates";
import { HOST_PATHS } from "./hostPaths";

/**
 * Upper bounds, so that a mistake is refused here rather than on a host. Every value reaches
 * a host in a command's environment (at most 128 KiB per string, "Argument list too long")
 * or in a file; Node's timers overflow past 2^31-1 ms (24.8 days).
 */
export const LIMITS = {
  /** Paths, URLs, commands: far above any real one. */
  path: 1024,
  url: 2048,
  command: 4096,
  /** Names of keys, variables, labels, channels, kernel options. */
  name: 128,
  /** A module's name as the kernel keeps it (MODULE_NAME_LEN is 56 with the final NUL). */
  moduleName: 55,
  /** The kernel refuses longer string parameters (param_set_charp). */
  parameterValue: 1024,
  /** A set's /etc/modprobe.d options lines together. */
  parameterLines: 16 * 1024,
  /** An address: a DNS name is at most 253 characters. */
  address: 253,
  /** Keys: a 16384-bit RSA private key is about 12 KiB of PEM. */
  privateKey: 64 * 1024,
  publicKey: 8 * 1024,
  /** Seconds: a build may run a day, any other step six hours. */
  buildTimeoutSeconds: 24 * 3600,
  commandTimeoutSeconds: 6 * 3600,
  /** Entries of one list (load, options, directories). */
  list: 256,
} as const;

/** A string of at most `max` characters. */
const text = (max: number) => z.string().max(max, `expected at most ${max} characters`);

/**
 * Names a parameters record may not use: `__proto__` would be dropped on the way (it sets
 * an object's prototype), the others name Object.prototype's members.
 */
export const RESERVED_KEYS = ["__proto__", "constructor", "prototype"];
const notReserved = (s: string) => !RESERVED_KEYS.includes(s);

const hostName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected a host name of lowercase letters, digits and '-' (it becomes part of resource names)");

/**
 * Values that become a command's argument on the host (module names, directories, URLs)
 * must never read as an option: `load: ["-r"]` would become `modprobe -r`.
 */
const notAnOption = (s: string) => !s.startsWith("-");
const NOT_AN_OPTION = "must not start with '-': it becomes a command argument on the host and would be read as an option";

const pathMessage = (example: string) =>
  `expected an absolute path of plain characters, e.g. ${example} (letters, digits, '.', '_', '+', '~', '-'; no spaces, glob characters, quotes, ',', ':', '=', '.' or '..' segments, no trailing '/')`;
const PATH_MESSAGE = pathMessage(HOST_PATHS.modulesRoot);

const configKey = text(LIMITS.name).regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "expected the name of a secret stack config key, e.g. sshPrivateKey");

const authFields = {
  /** Name of a secret config key (in the kmod-fleet namespace) holding the private key. */
  privateKeyConfig: configKey.optional(),
  /** Path of a private key file on the machine that runs pulumi. */
  keyFile: text(LIMITS.path).min(1, "expected a file path").optional(),
  /** true: use $SSH_AUTH_SOCK; a string: the agent socket path. */
  agent: z.union([z.literal(true), text(LIMITS.path).min(1)]).optional(),
  /** Name of a secret config key holding the key's passphrase. */
  passphraseConfig: configKey.optional(),
  /** Name of a secret config key holding a password (password authentication). */
  passwordConfig: configKey.optional(),
};

/** "expected exactly one of a, b or c", checked on the fields that are set. */
function exactlyOne(keys: string[]) {
  const names = `${keys.slice(0, -1).join(", ")} or ${keys[keys.length - 1]}`;
  return [(a: Record<string, unknown>) => keys.filter((k) => a[k] !== undefined).length === 1, { message: `expected exactly one of ${names}` }] as const;
}

/** How to log in (stack config). Exactly one of privateKeyConfig, keyFile, agent and passwordConfig. */
export const authSchema = z
  .object(authFields)
  .strict()
  .refine(...exactlyOne(["privateKeyConfig", "keyFile", "agent", "passwordConfig"]));

/**
 * How to log in, as the Fleet component takes it: the stack config's ways, plus the key and
 * its passphrase as values (in a program they come from a secret Output; a stack config
 * has no such field, because the key would be stored in plain text there).
 */
export const componentAuthSchema = z
  .object({
    /** The private key itself (OpenSSH or PEM text). */
    privateKey: text(LIMITS.privateKey).min(1, "expected the private key's text (OpenSSH or PEM)").optional(),
    ...authFields,
    /** The key's passphrase itself. */
    passphrase: text(LIMITS.parameterValue).optional(),
    /** A password itself (password authentication). */
    password: text(LIMITS.parameterValue).min(1, "expected the password").optional(),
  })
  .strict()
  .refine(...exactlyOne(["privateKey", "privateKeyConfig", "keyFile", "agent", "password", "passwordConfig"]))
  .refine((a) => a.passphrase === undefined || a.passphraseConfig === undefined, { message: "expected at most one of passphrase or passphraseConfig" });

/**
 * A pinned SSH host key: the public key as in known_hosts ("ssh-ed25519 AAAA...") or its
 * fingerprint ("SHA256:..."). Several may be given (a host with several key types).
 */
const hostKey = text(LIMITS.publicKey).regex(/^(SHA256:[A-Za-z0-9+/]{43}=?|(ssh-|ecdsa-|sk-)[a-z0-9@.-]+ [A-Za-z0-9+/]+=*( .*)?)$/, "expected a public key line like 'ssh-ed25519 AAAA...' or a fingerprint like 'SHA256:...'");

const connectionFields = {
  address: text(LIMITS.address).min(1, "expected a host name or IP address"),
  port: z.number().int().min(1).max(65535),
  user: text(32).regex(/^[a-z_][a-z0-9_-]*$/, "expected a user name"),
  hostKey: z.union([hostKey, z.array(hostKey).min(1)]),
  /** Turns host key verification off for this host. Never the default. */
  insecureIgnoreHostKey: z.literal(true),
};

const timeouts = {
  /** Seconds to wait for SSH to answer, per attempt. */
  connectTimeoutSeconds: z.number().int().min(1).max(600),
  /** Connection attempts before giving up (with backoff). */
  connectAttempts: z.number().int().min(1).max(10),
  /** Seconds a module build may run. */
  buildTimeoutSeconds: z.number().int().min(10).max(LIMITS.buildTimeoutSeconds, `expected at most ${LIMITS.buildTimeoutSeconds} (24 hours)`),
  /** Seconds any other step may run (downloads of a 1 GB image included). */
  commandTimeoutSeconds: z.number().int().min(5).max(LIMITS.commandTimeoutSeconds, `expected at most ${LIMITS.commandTimeoutSeconds} (6 hours)`),
};

/** ${VAR} placeholders of the download URL; see config/profiles.ts. */
const urlTemplate = text(LIMITS.url).regex(/^https?:\/\/\S+$/, "expected an http(s) URL template, e.g. https://${GROUP}.release.flatcar-linux.net/${BOARD}/${VERSION}/flatcar_developer_container.bin.bz2");
const absolutePath = text(LIMITS.path).refine(isPlainAbsolutePath, PATH_MESSAGE);
/** A path in which `${KERNEL}` stands for the running kernel's release. */
const kernelPathTemplate = text(LIMITS.path).refine((s) => isPlainAbsolutePath(s.replaceAll("${KERNEL}", "k")), pathMessage("/boot/config-${KERNEL}"));
const shellVariable = text(LIMITS.name).regex(/^[A-Z_][A-Z0-9_]*$/, "expected a shell variable name");

/** Where the OS, its release and its developer container are. Every field overrides the base. */
export const profileSchema = z
  .object({
    base: z.enum(["flatcar", "coreos"]).optional(),
    /** Shell files sourced to learn the release (later files override earlier ones). */
    releaseFiles: z.array(absolutePath).min(1).optional(),
    versionVariable: shellVariable.optional(),
    boardVariable: shellVariable.optional(),
    /** update.conf files; later ones override earlier ones (/etc over /usr). */
    updateConfFiles: z.array(absolutePath).min(1).optional(),
    /** GROUP when no update.conf sets it. */
    defaultGroup: text(LIMITS.name).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "expected an update channel such as stable (letters, digits, '.', '_', '-')").optional(),
    devContainerUrl: urlTemplate.optional(),
    /** Detached signature URL; ${URL} is the image URL. */
    signatureUrl: text(LIMITS.url).min(1).optional(),
    /** ASCII-armored public key that must have signed the developer container. */
    signingKey: text(LIMITS.privateKey).regex(/-----BEGIN PGP PUBLIC KEY BLOCK-----/, "expected an ASCII-armored PGP public key").optional(),
    /** Fingerprint the signature must come from (40 hex digits). */
    signingKeyFingerprint: z.string().regex(/^[0-9A-Fa-f]{40}$/, "expected a 40-digit hex key fingerprint").optional(),
    /** Run inside the developer container; must leave the running kernel's sources at /usr/src/linux. */
    sourcesCommand: text(LIMITS.command).min(1).optional(),
    /** The read-only modules directory the overlay goes over. */
    modulesDir: absolutePath.optional(),
    /** The kernel images of the A/B slots (Flatcar: /boot/flatcar/vmlinuz-a and -b); a staged update's kernel is read from them. */
    kernelImages: z.array(absolutePath).min(1).optional(),
    /** The channel's current release (`${GROUP}`, `${BOARD}`): its version.txt. */
    currentReleaseUrl: urlTemplate.optional(),
    /** A release's image contents listing (`${GROUP}`, `${BOARD}`, `${VERSION}`), which names its kernel. */
    releaseContentsUrl: urlTemplate.optional(),
  })
  .strict();

/** The Kconfig symbol an option request names: without CONFIG_ and without =m or =n. */
export function optionSymbol(request: string): string {
  return request.replace(/=[mn]$/, "").replace(/^CONFIG_/, "");
}

const optionName = text(LIMITS.name)
  .refine(
    // "CONFIG_" alone passes the pattern but names no option.
    (s) => /^[A-Z0-9_]+(=[mn])?$/.test(s) && /[A-Z0-9]/.test(optionSymbol(s)),
    "expected a kernel option to build as a module, e.g. DRM_I915 or CONFIG_DRM_I915=m (only =m: a built-in option needs a new kernel), or OPTION=n to leave an optional feature off as a preflight's 'Would work' line suggests",
  );

const relativeDir = text(LIMITS.path)
  .refine(notAnOption, NOT_AN_OPTION)
  .refine((s) => s.startsWith("-") || /^[A-Za-z0-9_+][A-Za-z0-9_.+-]*(\/[A-Za-z0-9_+][A-Za-z0-9_.+-]*)*$/.test(s), "expected a directory inside the kernel tree, e.g. drivers/gpu/drm (relative, no '..', no glob characters)");

const sourceSchema = z
  .object({
    /** A local folder, uploaded to each host (out-of-tree module with a Kbuild/Makefile). */
    dir: text(LIMITS.path).min(1).optional(),
    /** A git repository at a pinned ref, cloned inside the developer container. */
    git: z.object({ url: text(LIMITS.url).min(1).refine(notAnOption, NOT_AN_OPTION).refine((u) => !/\s/.test(u), "expected a URL without spaces"), ref: text(LIMITS.name).regex(/^[0-9a-f]{7,40}$|^v?[0-9][\w.+-]*$/, "expected a commit hash or a version tag") }).strict().optional(),
    /**
     * Options to build as modules (or OPTION=n to keep an optional feature off, as a
     * preflight's 'Would work' line suggests). The options they depend on are added, and
     * the M= directories derived from the new modules; `directories` overrides that
     * (checked against the new modules).
     */
    inTree: z
      .object({ options: z.array(optionName).min(1).max(LIMITS.list), directories: z.array(relativeDir).min(1).max(LIMITS.list).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => [s.dir, s.git, s.inTree].filter((v) => v !== undefined).length === 1, {
    message: "expected exactly one of dir, git or inTree",
  });

const moduleName = text(LIMITS.moduleName)
  .regex(/^[A-Za-z0-9_-]+$/, "expected a module name as modprobe takes it (no path, no .ko)")
  .refine(notAnOption, NOT_AN_OPTION)
  .refine(notReserved, `expected a module name, not ${RESERVED_KEYS.join(", ")}`);

const parameterName = text(LIMITS.name)
  .regex(/^[A-Za-z0-9_]+$/, "expected a parameter name of letters, digits and '_'")
  .refine(notReserved, `expected a parameter name, not ${RESERVED_KEYS.join(", ")}`);

/** Written into an /etc/modprobe.d `options` line: one word, nothing that starts a new line. */
const parameterValue = z.union([
  text(LIMITS.parameterValue).regex(/^[^\s"'\\]+$/, `expected a value without spaces, quotes, backslashes or line breaks (it is written to an ${HOST_PATHS.modprobeDir} options line)`),
  z.number(),
  z.boolean(),
]);

export const moduleSetSchema = z
  .object({
    name: text(LIMITS.name).regex(SET_NAME, "expected a short name of lowercase letters, digits, '-' and '_'"),
    source: sourceSchema,
    /** Modules to modprobe, in this order. */
    load: z.array(moduleName).min(1).max(LIMITS.list),
    /** Module parameters: { module: { param: value } }, for modules in `load` ('-' and '_' are the same). */
    parameters: z.record(moduleName, z.record(parameterName, parameterValue)).optional(),
    /** Which hosts get this set: all (default), or hosts named or labelled so. */
    hosts: z.union([z.literal("all"), z.object({ names: z.array(hostName).optional(), labels: z.array(text(LIMITS.name)).optional() }).strict()]).optional(),
  })
  .strict();

export const storageSchema = z
  .object({
    /** Overlay upper dir on writable storage; the work dir is "<modulesRoot>.wd". */
    modulesRoot: absolutePath.optional(),
    /** How the overlay comes back after a reboot: a systemd mount unit (Flatcar's way) or the seed's /etc/fstab line. */
    persistence: z.enum(["mount-unit", "fstab"]).optional(),
    /** Where downloaded developer containers are kept, one per OS version. */
    cacheDir: absolutePath.optional(),
    /** Build trees, job folders and build logs. */
    workDir: absolutePath.optional(),
  })
  .strict();

const REGISTRY_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/?$/;
const REGISTRY_URL_EXPECTED = "expected the registry's address, e.g. https://registry.example.com or http://127.0.0.1:5000 (no path, user or password in it)";

/**
 * A shared artifact store on an OCI registry (artifacts/registryStore.ts). The password is
 * a secret of the stack config, named here: it never appears in this config or in state.
 */
export const registryStoreSchema = z
  .object({
    /** `https://host[:port]`; `http://` only with insecureHttp. */
    url: text(LIMITS.url).regex(REGISTRY_URL, REGISTRY_URL_EXPECTED),
    /** The repository that holds the artifacts, e.g. team/kmod-fleet. */
    repository: text(LIMITS.name).regex(/^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/, "expected an OCI repository name, e.g. team/kmod-fleet (lowercase letters, digits, '.', '_', '-', '/')"),
    /** The registry user; leave it and passwordConfig out for anonymous access (or oras's own login). */
    username: text(LIMITS.name).regex(/^[^\s:]+$/, "expected a user name without spaces or ':'").optional(),
    /** Name of a secret stack config key (kmod-fleet namespace) holding the password or token. */
    passwordConfig: configKey.optional(),
    /**
     * The registry's address as the hosts reach it, when it is not `url` (a mirror near the
     * hosts, or another name on their network). Hosts pull the artifacts' blobs from it.
     */
    hostUrl: text(LIMITS.url).regex(REGISTRY_URL, REGISTRY_URL_EXPECTED).optional(),
    /** true allows http:// urls: the password then crosses the network in clear (loopback or a trusted network only). */
    insecureHttp: z.boolean().optional(),
  })
  .strict()
  .refine((r) => (r.username === undefined) === (r.passwordConfig === undefined), { message: "expected both username and passwordConfig, or neither (anonymous access)" })
  .refine((r) => ![r.url, r.hostUrl ?? ""].some((u) => u.startsWith("http://")) || r.insecureHttp === true, {
    message: "an http:// url sends the registry password in clear: use https://, or set insecureHttp: true (loopback or a trusted network only)",
    path: ["insecureHttp"],
  });

/** Where modules are built and where the results are kept (see components/plan/buildPlan.ts, artifacts/store.ts). */
export const buildSchema = z
  .object({
    /** Host names or labels that may build; default: any host of the fleet that runs the kernel. */
    builders: z.array(text(LIMITS.name).min(1, "expected a host name or label")).min(1, "expected at least one host name or label; leave builders out to let any host build").optional(),
    /** The artifact store: exactly one of a local folder on the machine that runs Pulumi (relative to the project, or absolute) or an OCI registry. */
    store: z
      .object({ path: text(LIMITS.path).min(1, "expected a folder path").optional(), registry: registryStoreSchema.optional() })
      .strict()
      .refine(...exactlyOne(["path", "registry"]))
      .optional(),
  })
  .strict();

/**
 * The schemas of the fleet, built for one form of `auth`: the stack config's or the Fleet
 * component's. Everything else is the same schema, so both forms get the same messages.
 */
function fleetSchemas<A extends typeof authSchema | typeof componentAuthSchema>(auth: A) {
  /** How to reach a machine: the same fields for a host and for its jump host. */
  const reach = {
    address: connectionFields.address,
    port: connectionFields.port.optional(),
    user: connectionFields.user.optional(),
    auth: auth.optional(),
    hostKey: connectionFields.hostKey.optional(),
    insecureIgnoreHostKey: connectionFields.insecureIgnoreHostKey.optional(),
  };

  /** A bastion to reach the host through (like ssh -J). */
  const jump = z.object(reach).strict();

  const host = z
    .object({
      name: hostName,
      ...reach,
      jump: jump.optional(),
      labels: z.array(text(LIMITS.name).min(1)).optional(),
      connectTimeoutSeconds: timeouts.connectTimeoutSeconds.optional(),
      connectAttempts: timeouts.connectAttempts.optional(),
      buildTimeoutSeconds: timeouts.buildTimeoutSeconds.optional(),
      commandTimeoutSeconds: timeouts.commandTimeoutSeconds.optional(),
    })
    .strict();

  /** Shared by all hosts; a host's own field wins. */
  const defaults = host.omit({ name: true, address: true }).partial().strict();

  const fleet = z
    .object({
      defaults: defaults.optional(),
      hosts: z.array(host).min(1, "expected at least one host"),
      profile: profileSchema.optional(),
      /** Where the running kernel's config is, tried in order; ${KERNEL} is `uname -r`. */
      kernelConfigSources: z.array(kernelPathTemplate).min(1).optional(),
      storage: storageSchema.optional(),
      moduleSets: z.array(moduleSetSchema).optional(),
      build: buildSchema.optional(),
      /** How hosts meet a staged OS update: the reboot gate (config/updates.ts). */
      updates: updatesSchema.optional(),
      /** A host that cannot be probed makes preview and up fail at their end (default); true makes it a warning. */
      allowUnreachableHosts: z.boolean().optional(),
    })
    .strict();

  return { jump, host, defaults, fleet };
}

/** The stack config (`kmod-fleet:fleet`). */
export const stackConfigSchemas = fleetSchemas(authSchema);
/** The Fleet component's arguments, with their Input values replaced by plain ones (components/fleetArgs.ts). */
export const componentSchemas = fleetSchemas(componentAuthSchema);
export type FleetSchemas = typeof stackConfigSchemas | typeof componentSchemas;

export const { jump: jumpSchema, host: hostSchema, defaults: defaultsSchema, fleet: fleetSchema } = stackConfigSchemas;

export type AuthConfig = z.infer<typeof authSchema>;
export type ComponentAuthConfig = z.infer<typeof componentAuthSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type ProfileConfig = z.infer<typeof profileSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type ModuleSetConfig = z.infer<typeof moduleSetSchema>;
export type BuildConfig = z.infer<typeof buildSchema>;
export type RegistryStoreConfig = z.infer<typeof registryStoreSchema>;
export type FleetConfig = z.infer<typeof fleetSchema>;
