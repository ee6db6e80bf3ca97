// Where a host's facts are read from (release files, update.conf, kernel config, the A/B
// kernel images): one set of settings for the whole fleet, derived from its profile. The
// facts resource of every host needs them again for refresh, so each keeps them; but only
// what differs from Flatcar's defaults, so that a preview of a default fleet does not
// repeat the same two dozen lines for every host.
import type { ResolvedFleet } from "../../../config/resolve";
import { DEFAULT_KERNEL_CONFIG_SOURCES, DEFAULT_WORK_DIR } from "../../../config/resolve";
import { builtInProfiles } from "../../../config/profiles";
import { rebootGateDir } from "../../../config/rebootGateDir";
import type { FactsProbe } from "./hostFacts";

function probeOf(profile: ResolvedFleet["profile"], kernelConfigSources: string[], workDir: string): FactsProbe {
  return {
    releaseFiles: profile.releaseFiles,
    versionVariable: profile.versionVariable,
    boardVariable: profile.boardVariable,
    updateConfFiles: profile.updateConfFiles,
    defaultGroup: profile.defaultGroup,
    kernelConfigSources,
    kernelImages: profile.kernelImages,
    rebootGateDir: rebootGateDir(workDir),
  };
}

/** Flatcar's: what a facts resource's `probe` leaves out. */
export const DEFAULT_FACTS_PROBE: FactsProbe = probeOf(builtInProfiles.flatcar, DEFAULT_KERNEL_CONFIG_SOURCES, DEFAULT_WORK_DIR);

/** The fleet's probe settings, whole. */
export function factsProbeOf(fleet: Pick<ResolvedFleet, "profile" | "kernelConfigSources" | "storage">): FactsProbe {
  return probeOf(fleet.profile, fleet.kernelConfigSources, fleet.storage.workDir);
}

/** Only the settings that differ from Flatcar's defaults (what a facts resource records). */
export function probeOverrides(probe: FactsProbe): Partial<FactsProbe> {
  const out: Partial<FactsProbe> = {};
  for (const k of Object.keys(probe) as (keyof FactsProbe)[]) {
    if (JSON.stringify(probe[k]) !== JSON.stringify(DEFAULT_FACTS_PROBE[k])) (out as any)[k] = probe[k];
  }
  return out;
}

/** The whole settings again, from what a facts resource recorded. */
export function withDefaults(overrides: Partial<FactsProbe> | undefined): FactsProbe {
  return { ...DEFAULT_FACTS_PROBE, ...(overrides ?? {}) };
}
