// Looks at the test fleet's hosts over SSH on its own (the testbed's OpenSSH client),
// independently of what the program reports; the CLI driver is dev/toolchain/stack.ts.
import * as fleet from "../../dev/testbed/fleet";
import { writeMode, type ReleaseMode } from "../../dev/testbed/releaseServer";
export { Stack } from "../../dev/toolchain/stack";

/** The test fleet, plus switching what its release server serves. */
export const testbed = {
  ...fleet,
  setReleaseMode(mode: ReleaseMode, version?: string): void {
    writeMode(fleet.releaseModeFile(), mode, version);
  },
};

export function host(name: string): fleet.FleetHost {
  return fleet.findHost(name);
}

/** Runs a command on a fleet host as root; fails the test on a non-zero exit unless allowed. */
export async function sh(hostName: string, command: string, opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<string> {
  const r = await testbed.sshCapture(host(hostName), command, opts.timeoutMs ?? 120_000);
  if (r.code !== 0 && !opts.allowFail) throw new Error(`${hostName}: \`${command}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** What a host looks like in every place kmod-fleet touches, for a before/after comparison. */
export async function footprint(hostName: string): Promise<string> {
  return sh(
    hostName,
    [
      "echo mount: $(findmnt -n -o FSTYPE /usr/lib/modules)",
      "echo units: $(ls -A /etc/systemd/system | sort)",
      "echo dropins: $(ls -A /etc/systemd/system/systemd-modules-load.service.d 2>/dev/null)",
      "echo load: $(ls -A /etc/modules-load.d /etc/modprobe.d 2>/dev/null | sort)",
      "echo opt: $(ls -A /opt)",
      "echo cache: $(ls -A /var/cache | sort)",
      "echo lib: $(ls -A /var/lib | sort)",
      "echo fstab: $(md5sum < /etc/fstab)",
    ].join("; "),
  );
}

/** Modules of `names` that are loaded on the host (through /sys/module, like the providers). */
export async function loaded(hostName: string, names: string[]): Promise<string[]> {
  const out = await sh(hostName, names.map((n) => `[ -d /sys/module/${n.replace(/-/g, "_")} ] && echo ${n}`).join("; ") + "; true");
  return out.split("\n").filter(Boolean);
}

