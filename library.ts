// kmod-fleet as a library (`require("kmod-fleet")`): the Fleet component for your own Pulumi
// program (README, "Use it in your own Pulumi program"), the stack-config validation it
// shares, the artifact store and build plan it uses, and the kernel analysis. The
// repository's own program is index.ts; it uses the same component with the stack config
// as its args.
export { Fleet, FleetArgsError, type AuthArgs, type ConnectionArgs, type FactsProber, type FleetArgs, type HostArgs, type HostDefaultsArgs, type InventoryProber } from "./components/fleet";
export type { HostSummary } from "./components/host";
export { LocalArtifactStore, type ArtifactStore, type ArtifactManifest, type ArtifactKey } from "./artifacts/store";
export { planBuilds, type BuildPlan, type BuildGroup } from "./components/plan/buildPlan";
export { CONFIG_KEY, ConfigError, resolveFleetConfig, type ResolvedFleet, type ResolvedHost, type ResolvedModuleSet } from "./config/resolve";
export type { BuildConfig, FleetConfig, HostConfig, ModuleSetConfig, ProfileConfig, StorageConfig } from "./config/schema";
export * as kernel from "./kernel";
