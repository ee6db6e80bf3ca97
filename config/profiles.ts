// Built-in distribution profiles: where an OS keeps its release facts and where its
// developer container is published. A stack's `profile` overrides any field of its base.

export interface Profile {
  base: "flatcar" | "coreos";
  /** Shell files sourced in order to learn the release. */
  releaseFiles: string[];
  versionVariable: string;
  boardVariable: string;
  /** update.conf files, later ones override earlier ones (GROUP may be a channel or a UUID). */
  updateConfFiles: string[];
  defaultGroup: string;
  /** ${GROUP}, ${BOARD} and ${VERSION} are replaced with the host's values. */
  devContainerUrl: string;
  /** ${URL} is the image URL. */
  signatureUrl: string;
  /**
   * Armored public key. When absent, the key is read from the host's own OS image
   * (the key flatcar-install carries) and accepted only if its fingerprint is the pinned one.
   */
  signingKey?: string;
  signingKeyFingerprint: string;
  /** Run inside the developer container; leaves the running kernel's sources at /usr/src/linux. */
  sourcesCommand: string;
  modulesDir: string;
  /**
   * The kernels the boot loader can start, one per USR partition (A/B). After the update
   * engine has written a release to the passive partition, the image there that the host
   * does not run is the staged release's kernel; its release is read from the image's
   * header, so that the build for it can be planned before the reboot.
   */
  kernelImages: string[];
  /**
   * The channel's current release as its release server publishes it (`version.txt`),
   * and one release's list of its image's files, which names its kernel. ${GROUP} and
   * ${BOARD} are a host's; ${VERSION} is the release's. Read by the program when
   * `updates.buildAhead` is on, to build a release before any host stages it.
   */
  currentReleaseUrl: string;
  releaseContentsUrl: string;
}

export const builtInProfiles: Record<Profile["base"], Profile> = {
  // Flatcar's documented recipe (kernel-modules guide), with /etc/flatcar/update.conf
  // overriding the shipped defaults.
  flatcar: {
    base: "flatcar",
    releaseFiles: ["/usr/share/flatcar/release"],
    versionVariable: "FLATCAR_RELEASE_VERSION",
    boardVariable: "FLATCAR_RELEASE_BOARD",
    updateConfFiles: ["/usr/share/flatcar/update.conf", "/etc/flatcar/update.conf"],
    defaultGroup: "stable",
    devContainerUrl: "https://${GROUP}.release.flatcar-linux.net/${BOARD}/${VERSION}/flatcar_developer_container.bin.bz2",
    signatureUrl: "${URL}.sig",
    signingKeyFingerprint: "F88CFEDEFF29A5B4D9523864E25D9AED0593B34A",
    sourcesCommand: "emerge-gitclone && emerge -gKv coreos-sources",
    modulesDir: "/usr/lib/modules",
    // The ESP, where the update's postinstall step writes the passive slot's kernel.
    kernelImages: ["/boot/flatcar/vmlinuz-a", "/boot/flatcar/vmlinuz-b"],
    currentReleaseUrl: "https://${GROUP}.release.flatcar-linux.net/${BOARD}/current/version.txt",
    releaseContentsUrl: "https://${GROUP}.release.flatcar-linux.net/${BOARD}/${VERSION}/flatcar_production_image_contents.txt",
  },
  // CoreOS Container Linux exactly as in the seed recipe (the release servers are gone;
  // kept for mirrors of old releases).
  coreos: {
    base: "coreos",
    releaseFiles: ["/usr/share/coreos/release"],
    versionVariable: "COREOS_RELEASE_VERSION",
    boardVariable: "COREOS_RELEASE_BOARD",
    updateConfFiles: ["/usr/share/coreos/update.conf", "/etc/coreos/update.conf"],
    defaultGroup: "stable",
    devContainerUrl: "http://${GROUP}.release.core-os.net/${BOARD}/${VERSION}/coreos_developer_container.bin.bz2",
    signatureUrl: "${URL}.sig",
    signingKeyFingerprint: "04127D0BFABEC8871FFB2CCE50E0885593D2DCB4",
    sourcesCommand: "emerge-gitclone && emerge -gKv bootengine coreos-sources dracut && update-bootengine -o /usr/src/linux/bootengine.cpio",
    modulesDir: "/lib/modules",
    kernelImages: ["/boot/coreos/vmlinuz-a", "/boot/coreos/vmlinuz-b"],
    currentReleaseUrl: "http://${GROUP}.release.core-os.net/${BOARD}/current/version.txt",
    releaseContentsUrl: "http://${GROUP}.release.core-os.net/${BOARD}/${VERSION}/coreos_production_image_contents.txt",
  },
};

/** The URL of the developer container for one host's release. */
export function devContainerUrls(profile: Pick<Profile, "devContainerUrl" | "signatureUrl">, release: { group: string; board: string; version: string }) {
  const image = profile.devContainerUrl
    .replaceAll("${GROUP}", release.group)
    .replaceAll("${BOARD}", release.board)
    .replaceAll("${VERSION}", release.version);
  return { image, signature: profile.signatureUrl.replaceAll("${URL}", image) };
}
