// How one artifact looks on an OCI registry, the way kernel modules are shared elsewhere
// (kmod images, system extensions): an OCI 1.1 artifact manifest whose layers are the
// `.ko` files (blobs by sha256) and whose annotations carry the key, the vermagic and the
// module names, found by a tag derived from the key. The annotations are for people and
// other tools; the store trusts only the full manifest it checks against the key and the
// blobs it checks against their sha256.
import { artifactId, type ArtifactKey, type ArtifactManifest } from "./store";
import { manifestProblems } from "./manifest";

export const ARTIFACT_TYPE = "application/vnd.kmod-fleet.modules.v1";
export const MODULE_MEDIA_TYPE = "application/vnd.kmod-fleet.kernel-module.v1";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const TITLE = "org.opencontainers.image.title";

export const ANNOTATION = {
  set: "io.kmod-fleet.set",
  kernelRelease: "io.kmod-fleet.kernel-release",
  arch: "io.kmod-fleet.arch",
  sourceIdentity: "io.kmod-fleet.source-identity",
  vermagic: "io.kmod-fleet.vermagic",
  modules: "io.kmod-fleet.modules",
  /** The whole ArtifactManifest as JSON: what get() checks. */
  manifest: "io.kmod-fleet.manifest",
} as const;

/** Longest OCI tag (distribution spec: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}). */
const TAG_MAX = 128;

/**
 * `<set>-<kernelRelease>-<arch>-<16 hex of the key's hash>`, readable in a registry's UI.
 * Characters a tag cannot hold become `_` and long parts are cut, so two keys could read
 * alike: the hash of the whole key keeps their tags apart.
 */
export function tagFor(key: ArtifactKey): string {
  const hash = artifactId(key).slice(0, 16);
  const readable = `${key.set}-${key.kernelRelease}-${key.arch}`.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "");
  return `${readable.slice(0, TAG_MAX - hash.length - 1)}-${hash}`;
}

/** The empty JSON object an OCI 1.1 artifact names as its config (`{}`). */
// Its content as text, not a Buffer: a provider captures this object when Pulumi serializes
// it, and a Buffer does not survive that (fs refuses the copy).
export const EMPTY_CONFIG = { mediaType: "application/vnd.oci.empty.v1+json", digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2, text: "{}" };

/**
 * The OCI manifest of an artifact, as text: the same build always gives the same bytes
 * (no creation time), so its digest is known before it is pushed.
 */
export function ociManifestFor(m: ArtifactManifest): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: ARTIFACT_TYPE,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: m.modules.map((x) => ({ mediaType: MODULE_MEDIA_TYPE, digest: `sha256:${x.sha256}`, size: x.size, annotations: { [TITLE]: `${x.name}.ko` } })),
    annotations: {
      [ANNOTATION.set]: m.set,
      [ANNOTATION.kernelRelease]: m.kernelRelease,
      [ANNOTATION.arch]: m.arch,
      [ANNOTATION.sourceIdentity]: m.sourceIdentity,
      [ANNOTATION.vermagic]: m.modules[0].vermagic,
      [ANNOTATION.modules]: m.modules.map((x) => x.name).join(","),
      [ANNOTATION.manifest]: JSON.stringify(m),
      "org.opencontainers.image.created": m.builtAt,
    },
  });
}

/**
 * The artifact manifest an OCI manifest carries, when it is a whole one for the key: its
 * type, its full manifest annotation (valid, and the key's), and one layer per module with
 * that module's sha256, size and file name. Otherwise the reason it is not.
 */
export function artifactFromOci(ociText: string, key: ArtifactKey): { manifest: ArtifactManifest } | { problem: string } {
  let oci: any;
  try {
    oci = JSON.parse(ociText);
  } catch {
    return { problem: "its OCI manifest is not JSON" };
  }
  if (oci?.mediaType !== OCI_MANIFEST || oci?.artifactType !== ARTIFACT_TYPE) return { problem: `it is not a kmod-fleet artifact (artifactType ${oci?.artifactType})` };
  let manifest: any;
  try {
    manifest = JSON.parse(oci.annotations?.[ANNOTATION.manifest]);
  } catch {
    return { problem: `its annotation ${ANNOTATION.manifest} is missing or not JSON` };
  }
  const problems = manifestProblems(manifest, key);
  if (problems.length > 0) return { problem: problems.join("; ") };
  const layers: any[] = Array.isArray(oci.layers) ? oci.layers : [];
  const byTitle = new Map(layers.map((l) => [l?.annotations?.[TITLE], l]));
  for (const mod of (manifest as ArtifactManifest).modules) {
    const layer = byTitle.get(`${mod.name}.ko`);
    if (!layer || layer.digest !== `sha256:${mod.sha256}` || layer.size !== mod.size) return { problem: `no layer for ${mod.name}.ko with its sha256 and size` };
  }
  if (layers.length !== manifest.modules.length) return { problem: "it has layers that are not its modules" };
  return { manifest };
}
