// Where the reboot gate (components/scripts/gate.sh) keeps the user's update.conf, its
// state and its installed check on a host: a folder of kmod-fleet's work dir.
// No imports: the facts provider serializes the module that uses it (see host/ssh/session.ts),
// and the config schema's zod must not come with it.

/** The reboot gate's folder under storage.workDir. */
export function rebootGateDir(workDir: string): string {
  return `${workDir}/reboot-gate`;
}
