// The host contract's table: every host script (components/providers/*/*.sh), its verbs (the
// ACTION it is run with), the environment each verb gets and whether it takes the host
// lock (host/hostLock.ts). hostStep sends a verb exactly the variables listed here,
// and the prelude (host/scripts/prelude.sh) checks every one that has a kind before
// the script runs. docs/host-contract.md shows this table; a unit test keeps them alike.
import type { ValueKind } from "./rules";

export interface EnvSpec {
  name: string;
  /** A checked kind (host/scripts/rules.ts), or text: any string, always quoted. */
  kind: ValueKind | "text";
  /** What a refusal calls the value. */
  what: string;
  /** Sent only when the caller has it; checked when sent. */
  optional?: boolean;
  /** Space-separated words, each of the kind. */
  list?: boolean;
}

export interface VerbSpec {
  /** Whether the verb takes the host lock: every verb that changes the host does. */
  lock: boolean;
  env: readonly EnvSpec[];
}

const spec = <N extends string, K extends EnvSpec["kind"]>(name: N, kind: K, what: string) => ({ name, kind, what }) as const;
const optional = <E extends EnvSpec>(e: E) => ({ ...e, optional: true }) as const;
const text = <N extends string>(name: N) => spec(name, "text", name);

const KERNEL = spec("KERNEL", "plain", "kernel release");
const SET = spec("SET", "set", "module set name");
const WORK_DIR = spec("WORK_DIR", "path", "path");
const MODULES_DIR = spec("MODULES_DIR", "path", "path");
const MODULES = { ...spec("MODULES", "module", "module name"), list: true } as const;

const devcontainerImage = [spec("CACHE_DIR", "path", "path"), spec("VERSION", "plain", "OS version")] as const;
// What the image was verified with: create records it, delete leaves an image verified for another claim.
const devcontainerClaim = [...devcontainerImage, text("IMAGE_URL"), text("SIGNATURE_URL"), text("SIGNING_KEY"), text("FINGERPRINT")] as const;
const overlayLayout = [MODULES_DIR, spec("UPPER_DIR", "path", "path"), WORK_DIR, text("PERSISTENCE")] as const;
const container = [
  KERNEL,
  SET,
  WORK_DIR,
  MODULES_DIR,
  spec("IMAGE", "path", "path"),
  text("SOURCES_COMMAND"),
  text("SOURCE_KIND"),
  optional(text("KERNEL_FROM_IMAGE")),
  optional(text("OPTIONS")),
  optional(text("DIRECTORIES")),
  optional(text("GIT_URL")),
  optional(text("GIT_REF")),
  optional(text("BUILD_HOST")),
] as const;
const installed = [KERNEL, SET, MODULES_DIR, WORK_DIR] as const;
const gatePlace = [spec("GATE_DIR", "path", "path"), spec("UPDATE_CONF", "path", "path")] as const;
// What the timer's check is run with (the installed gate.env), and create with it.
const gateCheck = [...gatePlace, { ...SET, name: "SETS", list: true }, MODULES_DIR, { ...spec("KERNEL_IMAGES", "path", "path"), list: true }, text("MAX_HOLD"), text("POLICY")] as const;

export const HOST_SCRIPTS = {
  facts: {
    probe: {
      lock: false,
      env: [text("RELEASE_FILES"), text("VERSION_VARIABLE"), text("BOARD_VARIABLE"), text("UPDATE_CONF_FILES"), text("DEFAULT_GROUP"), text("CONFIG_SOURCES"), optional(text("KERNEL_IMAGES")), optional(text("REBOOT_GATE_DIR"))],
    },
  },
  overlay: {
    create: { lock: true, env: [...overlayLayout, text("OWNED")] },
    probe: { lock: false, env: overlayLayout },
    move: { lock: true, env: [...overlayLayout, spec("OLD_UPPER_DIR", "path", "path"), spec("OLD_WORK_DIR", "path", "path"), text("OLD_PERSISTENCE"), text("CREATED_DIRS"), text("OWNED")] },
    delete: { lock: true, env: [...overlayLayout, text("CREATED_DIRS"), text("OWNED")] },
  },
  devcontainer: {
    create: { lock: true, env: devcontainerClaim },
    probe: { lock: false, env: devcontainerImage },
    delete: { lock: true, env: devcontainerClaim },
  },
  build: {
    sources: { lock: true, env: container },
    "kconfig-files": { lock: false, env: [KERNEL, WORK_DIR, optional(text("SYMBOLS"))] },
    build: { lock: true, env: [...container, text("KERNEL_CONFIG"), optional(spec("SOURCE_ARCHIVE", "path", "path"))] },
    fetch: { lock: false, env: [KERNEL, SET, WORK_DIR] },
    delete: { lock: true, env: [KERNEL, SET, WORK_DIR] },
  },
  install: {
    // Fills this run's upload folder from the registry; install then takes it as an upload.
    pull: { lock: false, env: [...installed, spec("UPLOAD", "path", "path"), text("PULL")] },
    install: { lock: true, env: [...installed, spec("UPLOAD", "path", "path"), spec("ARTIFACT", "hex", "artifact id"), text("EXPECT")] },
    probe: { lock: false, env: installed },
    inventory: { lock: false, env: [KERNEL, MODULES_DIR] },
    fetch: { lock: false, env: [KERNEL, SET, MODULES_DIR, spec("ARTIFACT", "hex", "artifact id")] },
    delete: { lock: true, env: installed },
  },
  load: {
    // KERNEL, MODULES_DIR and WORK_DIR come with a reload: where the replaced build is kept.
    load: {
      lock: true,
      env: [SET, MODULES, text("PARAMETERS"), text("RELOAD"), optional({ ...MODULES, name: "OLD_MODULES" }), optional(text("OLD_PARAMETERS")), optional(KERNEL), optional(MODULES_DIR), optional(WORK_DIR)],
    },
    probe: { lock: false, env: [SET, MODULES, text("PARAMETERS")] },
    unload: { lock: true, env: [SET, MODULES] },
    "unload-modules": { lock: true, env: [SET, MODULES] },
  },
  gate: {
    create: { lock: true, env: [...gateCheck, text("CHECK_SCRIPT")] },
    // Run by the host's timer, not by kmod-fleet: the gate's own lock, never the host lock.
    check: { lock: false, env: gateCheck },
    probe: { lock: false, env: gatePlace },
    delete: { lock: true, env: gatePlace },
  },
} as const satisfies Record<string, Record<string, VerbSpec>>;

export type ScriptName = keyof typeof HOST_SCRIPTS;
export type VerbName<S extends ScriptName> = keyof (typeof HOST_SCRIPTS)[S] & string;
type EnvOf<S extends ScriptName, V extends VerbName<S>> = (typeof HOST_SCRIPTS)[S][V] extends { env: readonly (infer E extends EnvSpec)[] } ? E : never;

/** What a caller gives a verb: every variable it needs (more is allowed and not sent). */
export type VerbValues<S extends ScriptName, V extends VerbName<S>> = { [K in Exclude<EnvOf<S, V>, { optional: true }>["name"]]: string } & {
  [K in Extract<EnvOf<S, V>, { optional: true }>["name"]]?: string;
} & Record<string, string | undefined>;

export function verbSpec(script: string, verb: string): VerbSpec {
  const s: VerbSpec | undefined = (HOST_SCRIPTS as Record<string, Record<string, VerbSpec>>)[script]?.[verb];
  if (!s) throw new Error(`kmod-fleet: ${script}.sh has no verb ${verb}`);
  return s;
}
