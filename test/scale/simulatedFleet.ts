// A simulated fleet: each "host" is a real sshd on its own loopback port, in a private mount
// namespace made by the test (test/provider/sshd.ts) where it has its own root folder (a
// tmpfs at `root`, the same path in every namespace), its own /etc/systemd/system,
// /etc/modules-load.d, /etc/modprobe.d, /etc/fstab, /sys/module and /run/lock. Only what
// needs a real kernel is stubbed: modprobe (writes /sys/module/<m>/srcversion from the .ko
// instead of loading it), modinfo and depmod (read the fake .ko files), and systemctl (does
// nothing). The release and kernel config files are written into the root, so the product
// probes, installs and loads over SSH as on a machine; nothing compiles: the artifact store
// holds the build already (seedStoredBuild).
//
// Used by the program test (test/e2e/program.test.ts), the scale test and `npm run bench:scale`.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import { startSshd, type SshdNamespace, type TestSshd } from "../provider/sshd";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { repoRoot } from "../../dev/toolchain/env";
import { hashSourceDir, sourceIdentity } from "../../components/sourceHash";
import { LocalArtifactStore, type ArtifactManifest } from "../../artifacts/store";

/** The module set every simulated host gets (two modules, one depending on the other). */
export const SRC = "dev/testbed/fixtures/kmod-pair";
export const MODULES = ["pair_consumer", "pair_provider"];
/** Every namespace shares this machine's kernel, so every host is of one kernel group. */
export const KERNEL = execFileSync("uname", ["-r"]).toString().trim();

/** Stubs (command -> bash) for the commands that need a real kernel; `root` is the hosts' root folder. */
export function kernelStubs(root: string): Record<string, string> {
  const modprobe = `
r=0; dry=0
while [ $# -gt 0 ]; do case "$1" in -r) r=1 ;; --dry-run) dry=1 ;; --) shift; break ;; *) break ;; esac; shift; done
m=$1; shift
[ $dry = 1 ] && exit 0
d=/sys/module/\${m//-/_}
if [ $r = 1 ]; then rm -rf "$d"; exit 0; fi
f=$(ls ${root}/modules/$(uname -r)/extra/*/$m.ko | head -n 1)
mkdir -p "$d"; sed -n 's/^srcversion=//p' "$f" > "$d/srcversion"`;
  const modinfo = `
while [ $# -gt 0 ]; do case "$1" in -F) f=$2; shift 2 ;; --) shift ;; *) file=$1; shift ;; esac; done
case "$file" in /*) ;; *) file=$(ls ${root}/modules/$(uname -r)/extra/*/$file.ko 2>/dev/null | head -n 1) ;; esac
[ -f "$file" ] || { echo "modinfo: ERROR: Module not found." >&2; exit 1; }
sed -n "s/^$f=//p" "$file" | head -n 1`;
  const depmod = `d=${root}/modules/$2; [ -d "$d" ] && (cd "$d" && find . -name '*.ko' -not -path '*/.*' | sed 's|^\\./||; s|$|:|' | sort > modules.dep); exit 0`;
  return { systemctl: "exit 0", modprobe, modinfo, depmod };
}

/** What makes one namespace its own machine: its root and every system folder the product writes. */
export function simulatedHostNamespace(root: string): SshdNamespace {
  return {
    stubs: kernelStubs(root),
    // /run/lock: the host lock (host/hostLock.ts) is per machine, not shared by the fleet.
    tmpfs: [root, "/etc/systemd/system", "/etc/modules-load.d", "/etc/modprobe.d", "/sys/module", "/run/lock"],
    privateFiles: ["/etc/fstab"],
  };
}

export interface SimulatedHost {
  name: string;
  sshd: TestSshd;
  spec: ConnectionSpec;
}

/** Starts one host: its sshd in its namespace, with a Flatcar release file and a kernel config in its root. */
export async function startSimulatedHost(name: string, root: string): Promise<SimulatedHost> {
  const sshd = await startSshd({ namespace: simulatedHostNamespace(root) });
  const spec: ConnectionSpec = { host: name, address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  await runScript(spec, `mkdir -p ${root}/modules/${KERNEL}/kernel && printf 'FLATCAR_RELEASE_VERSION=3975.2.0\\nFLATCAR_RELEASE_BOARD=amd64-usr\\n' > ${root}/release && echo CONFIG_MODULES=y > ${root}/config`, { timeoutSeconds: 30 });
  return { name, sshd, spec };
}

/** Starts `count` hosts named h1..hN, a few at a time (each is a few ssh-keygen runs and an sshd). */
export async function startSimulatedFleet(count: number, root: string): Promise<SimulatedHost[]> {
  const hosts: SimulatedHost[] = [];
  const names = Array.from({ length: count }, (_, i) => `h${i + 1}`);
  try {
    for (let i = 0; i < names.length; i += 8) hosts.push(...(await Promise.all(names.slice(i, i + 8).map((n) => startSimulatedHost(n, root)))));
  } catch (e) {
    await stopSimulatedFleet(hosts);
    throw e;
  } finally {
    closeAllSessions();
  }
  return hosts;
}

export async function stopSimulatedFleet(hosts: SimulatedHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.sshd.stop()));
}

/** Logins every host's sshd has accepted so far. */
export function sshLogins(hosts: SimulatedHost[]): number {
  return hosts.reduce((n, h) => n + (h.sshd.log().match(/Accepted publickey/g)?.length ?? 0), 0);
}

/**
 * "An earlier run's" build of the set for this kernel: its manifest, files and the
 * `sha256sum *.ko` lines a host has once it installed it. `padBytes` makes each file that
 * much larger (to see the bytes of a transfer).
 */
export function simulatedBuild(builtOn = "h1", padBytes = 0): { manifest: ArtifactManifest; files: Map<string, Buffer>; sums: string } {
  const pad = "pad\n".repeat(Math.ceil(padBytes / 4)).slice(0, padBytes);
  const files = new Map(MODULES.map((m) => [m, Buffer.from(`vermagic=${KERNEL} SMP mod_unload\nsrcversion=SRC-${m}\nfake ${m}\n${pad}`)] as const));
  const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
  const manifest: ArtifactManifest = {
    kernelRelease: KERNEL,
    arch: "x86_64",
    set: "kmod-pair",
    sourceIdentity: sourceIdentity({ kind: "dir", dir: SRC }, hashSourceDir(path.join(repoRoot, SRC)), "true"),
    builtOn,
    builtAt: new Date().toISOString(),
    modules: [...files].map(([name, b]) => ({ name, sha256: sha256(b), vermagic: `${KERNEL} SMP mod_unload`, srcversion: `SRC-${name}`, size: b.length })),
  };
  return { manifest, files, sums: [...files].map(([name, b]) => `${sha256(b)}  ${name}.ko`).join("\n") };
}

/** Puts the simulated build into the local store at `store`; returns its `sha256sum *.ko` lines. */
export async function seedStoredBuild(store: string, builtOn = "h1"): Promise<string> {
  const { manifest, files, sums } = simulatedBuild(builtOn);
  await new LocalArtifactStore(store).put(manifest, files);
  return sums;
}

/** The stack's `kmod-fleet:fleet` for these hosts: every path under `root`, the set on every host. */
export function simulatedFleetConfig(hosts: SimulatedHost[], root: string, store: string): Record<string, any> {
  return {
    defaults: { user: "root" },
    hosts: hosts.map((h) => ({ name: h.name, address: "127.0.0.1", port: h.sshd.port, hostKey: h.sshd.hostKey, auth: { keyFile: `${h.sshd.dir}/client` } })),
    profile: { releaseFiles: [`${root}/release`], updateConfFiles: [`${root}/update.conf`], modulesDir: `${root}/modules`, sourcesCommand: "true", devContainerUrl: "http://127.0.0.1:1/${VERSION}/unused.bin.bz2" },
    kernelConfigSources: [`${root}/config`],
    storage: { modulesRoot: `${root}/opt/modules`, persistence: "fstab", cacheDir: `${root}/cache`, workDir: `${root}/work` },
    moduleSets: [{ name: "kmod-pair", source: { dir: SRC }, load: ["pair_provider", "pair_consumer"] }],
    build: { store: { path: store } },
  };
}
