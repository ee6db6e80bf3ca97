// The developer container for the host's exact OS version: downloaded once per version
// into a cache on the host, its detached signature checked against the pinned key (a bad
// or missing signature fails and leaves nothing behind), decompressed.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSpec } from "../../../host/ssh/session";
import { hostStep } from "../../../host/hostStep";
import { diffFor, updateFor, type LifecycleContract } from "../lifecycle";
import { devContainerScript } from "../scripts";
import { developerContainerImagePath } from "../../../config/hostPaths";

export interface DeveloperContainerInputs {
  /** How to reach the host over SSH (address, user, pinned host keys, credentials as Pulumi secrets), from `hosts[]` and the secret config. Recorded: a new one is stored, nothing runs. */
  connection: ConnectionSpec;
  /** The OS release whose container this is: the probed running release, or a staged one the host builds for ("" when the host could not be probed: nothing is decided). Elsewhere: another image. */
  osVersion: string;
  /** Where the compressed image is downloaded: `profile.devContainerUrl` with the host's group, board and this release filled in. Elsewhere. */
  imageUrl: string;
  /** Its detached signature's URL, `profile.signatureUrl` filled in the same way. Elsewhere. */
  signatureUrl: string;
  /** Armored key, `profile.signingKey`; "" means the key the host's OS ships, accepted only with the pinned fingerprint. Elsewhere. */
  signingKey: string;
  /** The fingerprint that must have signed the image, `profile.signingKeyFingerprint`. Elsewhere. */
  signingKeyFingerprint: string;
  /** Folder of the host's image cache, `storage.cacheDir`. Elsewhere. */
  cacheDir: string;
  /** Bound of each step on the host, from `hosts[].commandTimeoutSeconds`. Recorded. */
  commandTimeoutSeconds: number;
}

export interface DeveloperContainerOutputs extends DeveloperContainerInputs {
  /** Observed: the image is in the cache and matches its verification stamp. */
  present: boolean;
  imagePath: string;
  /** sha256 of the signed download. */
  sha256: string;
  /** Fingerprint of the key that signed it. */
  signedBy: string;
}

/**
 * Another release, URL, key or cache folder is another image: the new one is fetched and
 * verified next to the old one, which is deleted after (and leaves the image to the new
 * resource when both name the same file).
 */
export const developerContainerLifecycle: LifecycleContract<DeveloperContainerInputs> = {
  resource: "DeveloperContainer",
  recorded: ["connection", "commandTimeoutSeconds"],
  inPlace: [],
  elsewhere: ["osVersion", "imageUrl", "signatureUrl", "signingKey", "signingKeyFingerprint", "cacheDir"],
  drifted: (olds: DeveloperContainerOutputs) => olds.present === false,
  // The host could not be probed: its OS version is unknown, and nothing can be decided.
  undecidable: (news) => !news.osVersion,
};

export function diffDeveloperContainer(olds: DeveloperContainerOutputs, news: DeveloperContainerInputs): pulumi.dynamic.DiffResult {
  return diffFor(developerContainerLifecycle, olds, news);
}

function env(p: DeveloperContainerInputs) {
  return {
    CACHE_DIR: p.cacheDir,
    VERSION: p.osVersion,
    IMAGE_URL: p.imageUrl,
    SIGNATURE_URL: p.signatureUrl,
    SIGNING_KEY: p.signingKey,
    FINGERPRINT: p.signingKeyFingerprint,
  };
}

async function fetchAndVerify(p: DeveloperContainerInputs): Promise<DeveloperContainerOutputs> {
  const r = await hostStep(p.connection, `fetching the developer container for OS ${p.osVersion}`, devContainerScript, "create", env(p), p.commandTimeoutSeconds);
  return { ...p, present: true, imagePath: developerContainerImagePath(p.cacheDir, p.osVersion), sha256: r.values.sha256 ?? "", signedBy: r.values.fingerprint ?? "" };
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const developerContainerProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: DeveloperContainerInputs) {
    return { id: `${inputs.connection.host}:devcontainer:${inputs.osVersion}`, outs: await fetchAndVerify(inputs) };
  },
  async read(id: string, props: DeveloperContainerOutputs) {
    const r = await hostStep(props.connection, "checking the developer container", devContainerScript, "probe", env(props), props.commandTimeoutSeconds);
    const present = r.values.present === "true" && r.values.url === props.imageUrl;
    return { id, props: { ...props, present, sha256: r.values.sha256 ?? "", signedBy: r.values.fingerprint ?? "" } };
  },
  async diff(_id: string, olds: DeveloperContainerOutputs, news: DeveloperContainerInputs) {
    return diffDeveloperContainer(olds, news);
  },
  async update(_id: string, olds: DeveloperContainerOutputs, news: DeveloperContainerInputs) {
    // The image deleted on the host (drift): fetched and verified again.
    return updateFor(developerContainerLifecycle, olds, news, { remake: () => fetchAndVerify(news) });
  },
  async delete(_id: string, props: DeveloperContainerOutputs) {
    await hostStep(props.connection, `removing the developer container for OS ${props.osVersion}`, devContainerScript, "delete", env(props), props.commandTimeoutSeconds);
  },
};

export type DeveloperContainerArgs = { [K in keyof DeveloperContainerInputs]: pulumi.Input<DeveloperContainerInputs[K]> };

export class DeveloperContainer extends pulumi.dynamic.Resource {
  public declare readonly imagePath: pulumi.Output<string>;
  public declare readonly sha256: pulumi.Output<string>;
  public declare readonly present: pulumi.Output<boolean>;

  constructor(name: string, args: DeveloperContainerArgs, opts?: pulumi.CustomResourceOptions) {
    super(developerContainerProvider, name, { ...args, present: undefined, imagePath: undefined, sha256: undefined, signedBy: undefined }, { ...opts, additionalSecretOutputs: ["connection"] }, "kmod-fleet", "DeveloperContainer");
  }
}
