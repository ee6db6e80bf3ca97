// Where the local artifact store is: an operator-side setting, read whenever the program
// or a provider runs, and never recorded in a resource's inputs (a path on one machine
// means nothing on another: the same stack run from another checkout or machine would
// plan an update of every build and install). The providers run in their own process,
// where the stack's config and the environment are what they can read:
// 1. KMOD_FLEET_STORE, when set (absolute, or relative to the project folder);
// 2. else `build.store.path` of the stack config `kmod-fleet:fleet`;
// 3. else `.kmod-fleet/artifacts`, under the project folder.
// Relative paths start from the project folder, which Pulumi makes the working directory
// of the program and of its providers.

import { LocalArtifactStore, type ArtifactStore } from "./store";
import { RegistryArtifactStore } from "./registryStore";
import type { RegistryAccess } from "./oras";
import { FLEET_DEFAULTS } from "../config/defaults";

export const STORE_ENV = "KMOD_FLEET_STORE";
const DEFAULT_STORE = FLEET_DEFAULTS.storePath;

/** `build.store.path` of the stack config's fleet (its JSON text, or the value), if it sets one. */
export function storePathInStackConfig(fleetConfig: unknown): string | undefined {
  if (!fleetConfig) return undefined;
  try {
    const p = (typeof fleetConfig === "string" ? JSON.parse(fleetConfig) : (fleetConfig as any))?.build?.store?.path;
    return typeof p === "string" && p !== "" ? p : undefined;
  } catch {
    return undefined; // the program reports a config that is not valid
  }
}

/** The store's folder, as the providers find it. */
export function storeRoot(configured: string | undefined, baseDir = process.cwd(), env: Record<string, string | undefined> = process.env): string {
  return require("path").resolve(baseDir, env[STORE_ENV] || configured || DEFAULT_STORE);
}

/**
 * The store's folder for the program: its args' `build.store.path` (from `projectDir`)
 * must be the folder the providers find, or the plan would read one store and the
 * providers write another. Throws, saying how to make them agree, when they differ.
 */
export function programStoreRoot(argsPath: string | undefined, projectDir: string, fleetConfigText: string | undefined): string {
  const env = process.env[STORE_ENV];
  const mine = require("path").resolve(projectDir, env || argsPath || DEFAULT_STORE);
  const providers = storeRoot(storePathInStackConfig(fleetConfigText));
  if (mine !== providers) {
    // RunError: Pulumi prints the message alone, without a stack trace.
    const { RunError } = require("@pulumi/pulumi");
    throw new RunError(
      `the artifact store: the program's args give ${mine}, but the providers, which read the stack config and the environment, would use ${providers}; ` +
        `set ${STORE_ENV}=${mine} in the environment of \`pulumi\` (or build.store.path in the stack config kmod-fleet:fleet)`,
    );
  }
  return mine;
}

/** What a provider keeps of the stack config (its `configure`), for localStore and artifactStoreFor. */
export interface StoreSetting {
  storeConfigured?: string;
  /** build.store.registry with its password: kept in the provider's memory, never in state. */
  storeRegistry?: RegistryAccess;
}

/** A provider's `configure`: the store setting of the stack config (a folder, or a registry with its password). */
export function storeSettingOf(config: { get(key: string): unknown }): StoreSetting {
  return { storeConfigured: storePathInStackConfig(config.get("kmod-fleet:fleet")), storeRegistry: registryAccessOf(config) };
}

/** The store a provider uses, at the location the operator set (see above). */
export function localStore(setting: StoreSetting): LocalArtifactStore {
  return new LocalArtifactStore(storeRoot(setting.storeConfigured));
}

/**
 * build.store.registry of the stack config, with the password read from the secret key it
 * names (`config` is a provider's ConfigureRequest config, or pulumi.runtime in the
 * program: both give a secret's value). Undefined for a local store; throws when the
 * secret is not set, saying how to set it.
 */
export function registryAccessOf(config: { get(key: string): unknown }): RegistryAccess | undefined {
  let registry: any;
  try {
    const fleet = config.get("kmod-fleet:fleet");
    registry = (typeof fleet === "string" ? JSON.parse(fleet) : (fleet as any))?.build?.store?.registry;
  } catch {
    return undefined; // the program reports a config that is not valid
  }
  if (typeof registry?.url !== "string" || typeof registry?.repository !== "string") return undefined;
  const access: RegistryAccess = { url: registry.url, repository: registry.repository };
  if (typeof registry.hostUrl === "string") access.hostUrl = registry.hostUrl;
  if (typeof registry.username === "string" && typeof registry.passwordConfig === "string") {
    const password = config.get(`kmod-fleet:${registry.passwordConfig}`);
    if (typeof password !== "string" || password === "") {
      throw new Error(`build.store.registry.passwordConfig names the stack config key ${registry.passwordConfig}, which is not set; set it with \`pulumi config set --secret ${registry.passwordConfig}\` (the password is read from standard input when no value is given)`);
    }
    Object.assign(access, { username: registry.username, password, credentialsHint: `check the password in the secret stack config key ${registry.passwordConfig} (and build.store.registry.username)` });
  }
  return access;
}

/** The store a provider uses: the registry when the stack config sets one, else the local folder. */
export function artifactStoreFor(setting: StoreSetting): ArtifactStore {
  return setting.storeRegistry ? new RegistryArtifactStore(setting.storeRegistry) : localStore(setting);
}

/** The registry part a store's location is named by (no login). */
type RegistryPlace = Pick<RegistryAccess, "url" | "repository" | "hostUrl">;

function samePlace(a: RegistryPlace, b: RegistryPlace): boolean {
  return a.url === b.url && a.repository === b.repository && (a.hostUrl ?? a.url) === (b.hostUrl ?? b.url);
}

/**
 * The store the program plans with: the one the providers will use. A registry's login is
 * a secret of the stack config, and the providers read only the stack config, so a registry
 * given in a component's args must also be the stack config's. Throws, saying how to make
 * them agree, when the program and the providers would use different stores.
 */
export function programStore(build: { storePath: string; storeRegistry?: RegistryPlace }, projectDir: string, config: { get(key: string): unknown }): ArtifactStore {
  const providers = registryAccessOf(config);
  const mine = build.storeRegistry;
  if (!mine && !providers) {
    const text = config.get("kmod-fleet:fleet");
    return new LocalArtifactStore(programStoreRoot(build.storePath, projectDir, typeof text === "string" ? text : undefined));
  }
  if (mine && providers && samePlace(mine, providers)) return new RegistryArtifactStore(providers);
  const { RunError } = require("@pulumi/pulumi");
  const named = (r: RegistryPlace | undefined) => (r ? `the registry ${r.url} (repository ${r.repository})` : "a local folder");
  throw new RunError(
    `the artifact store: the program's args give ${named(mine)}, but the providers, which read the stack config kmod-fleet:fleet, would use ${named(providers)}; ` +
      "set the same build.store.registry in the stack config (its password in the secret key passwordConfig names), or leave it out of both",
  );
}
