// What a host needs to fetch an artifact's files straight from the registry with curl:
// each blob's URL (by digest) and sha256, and a curl config file that carries the login.
// The config file holds a secret: the host writes it from stdin with mode 0600 (e.g.
// `umask 077; cat > "$dir/registry.curl"`) and curl reads it with `--config`, so the
// password is never on a command line, in the environment or in a log.
import type { ArtifactManifest } from "./store";
import type { RegistryAccess } from "./oras";

export interface HostPullFile {
  /** Module name; the host saves it as `<name>.ko`. */
  name: string;
  url: string;
  sha256: string;
  size: number;
}

export interface HostPullPlan {
  files: HostPullFile[];
  /** Text of a curl config file with the Authorization header; undefined when the registry needs no login. Secret. */
  curlConfig?: string;
}

/** A curl config string, quoted as curl's config syntax reads it. */
function curlQuoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function hostPullPlan(access: RegistryAccess, manifest: Pick<ArtifactManifest, "modules">): HostPullPlan {
  const base = (access.hostUrl ?? access.url).replace(/\/+$/, "");
  const files = manifest.modules.map((m) => ({ name: m.name, sha256: m.sha256, size: m.size, url: `${base}/v2/${access.repository}/blobs/sha256:${m.sha256}` }));
  if (access.username === undefined) return { files };
  // Basic authentication, as the registry's htpasswd login takes it; a registry that hands
  // out bearer tokens takes it as well at its token endpoint, which a later version may use
  // to give hosts a short-lived pull-only token instead.
  const basic = Buffer.from(`${access.username}:${access.password ?? ""}`).toString("base64");
  return { files, curlConfig: `header = ${curlQuoted(`Authorization: Basic ${basic}`)}\n` };
}

/** The PULL value of install.sh's pull verb: a line "<name> <sha256> <size> <url>" per file. */
export function pullList(plan: HostPullPlan): string {
  return plan.files.map((f) => `${f.name} ${f.sha256} ${f.size} ${f.url}`).join("\n");
}
