// Where kmod-fleet keeps things on a host, in one table: the default storage folders (the
// fleet config's `storage` sets them; config/defaults.ts takes its defaults from here), and
// the system folders it writes its own files into. Every host script gets the system
// folders from the prelude (hostPathsShell), so no script spells them itself;
// test/unit/hostPaths.test.ts checks that no other product file does.

export const HOST_PATHS = {
  /** The overlay's upper dir (its work dir is `<modulesRoot>.wd`): storage.modulesRoot's default. */
  modulesRoot: "/opt/modules",
  /** Developer containers: storage.cacheDir's default. */
  cacheDir: "/var/cache/kmod-fleet",
  /** Sources, build jobs, logs, uploads, installed artifacts' records: storage.workDir's default. */
  workDir: "/var/lib/kmod-fleet",
  /** systemd units kmod-fleet writes (the overlay's mount unit). */
  unitDir: "/etc/systemd/system",
  /** Drop-ins that order systemd-modules-load after the overlay and run depmod at boot. */
  modulesLoadDropinDir: "/etc/systemd/system/systemd-modules-load.service.d",
  /** A set's modules to load at boot: kmod-fleet-<set>.conf. */
  modulesLoadDir: "/etc/modules-load.d",
  /** A set's module parameters: kmod-fleet-<set>.conf. */
  modprobeDir: "/etc/modprobe.d",
  /** The host lock (host/hostLock.ts): per boot, outside the folders the config names. */
  lockFile: "/run/lock/kmod-fleet.lock",
} as const;

/** The system folders as the scripts' variables, in the prelude: HOST_UNIT_DIR and so on. */
const SHELL_NAMES = {
  unitDir: "HOST_UNIT_DIR",
  modulesLoadDropinDir: "HOST_MODULES_LOAD_DROPIN_DIR",
  modulesLoadDir: "HOST_MODULES_LOAD_DIR",
  modprobeDir: "HOST_MODPROBE_DIR",
} as const;

/** The developer container image of one OS release, in the storage's cache folder. */
export function developerContainerImagePath(cacheDir: string, osVersion: string): string {
  return `${cacheDir}/${osVersion}/developer_container.bin`;
}

/** bash's half of the table: the system folders, set before every host script. */
export function hostPathsShell(): string {
  const lines = Object.entries(SHELL_NAMES).map(([key, name]) => `${name}='${HOST_PATHS[key as keyof typeof SHELL_NAMES]}'`);
  return ["# The host's system folders, from the TypeScript side (config/hostPaths.ts).", ...lines, ""].join("\n");
}
