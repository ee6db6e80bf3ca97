// kmod-fleet as a library (`require("kmod-fleet")`): the Fleet component for your own Pulumi
// program, the stack-config validation it is built from, and the kernel analysis. The
// repository's own program is index.ts; it uses the same component.
export { Fleet, type FleetArgs, type FactsProber, type InventoryProber } from "./components/fleet";
export type { HostSummary } from "./components/host";
export { LocalArtifactStore, type ArtifactStore, type ArtifactManifest, type ArtifactKey } from "./artifacts/store";
export { planBuilds, type BuildPlan, type BuildGroup } from "./plan/buildPlan";
export type { SecretSource } from "./components/connection";
export { CONFIG_KEY, ConfigError, resolveFleetConfig, type ResolvedFleet, type ResolvedHost, type ResolvedModuleSet } from "./config/resolve";
export type { FleetConfig, HostConfig, ModuleSetConfig, ProfileConfig } from "./config/schema";
export * as kernel from "./kernel";
