// What makes an artifact manifest whole. A manifest comes from a host (a build or a
// take-back) or from a file in the store that anyone may have edited, so nothing in it is
// trusted: names and hashes become file names, sizes and hashes decide what is served.
import type { ArtifactKey, ArtifactManifest } from "./store";

const KEY_FIELDS = ["kernelRelease", "arch", "set", "sourceIdentity"] as const;

export function sha256(b: Buffer): string {
  return require("crypto").createHash("sha256").update(b).digest("hex");
}

/** Every problem of one module entry, by its index. */
function moduleProblems(mod: any, i: number, kernelRelease: string): string[] {
  if (typeof mod !== "object" || mod === null) return [`modules[${i}] is not an object`];
  const name = typeof mod.name === "string" && /^[A-Za-z0-9_-]+$/.test(mod.name) ? mod.name : undefined;
  const at = name ?? `modules[${i}]`;
  const problems: string[] = [];
  if (!name) problems.push(`module name '${mod.name}' is not a module name`);
  if (typeof mod.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(mod.sha256)) problems.push(`${at}: sha256 '${mod.sha256}' is not a sha256`);
  if (typeof mod.vermagic !== "string" || (!mod.vermagic.startsWith(`${kernelRelease} `) && mod.vermagic !== kernelRelease)) problems.push(`${at}: vermagic '${mod.vermagic}' is not for ${kernelRelease}`);
  if (typeof mod.srcversion !== "string") problems.push(`${at}: srcversion is not a string`);
  if (!Number.isInteger(mod.size) || mod.size <= 0) problems.push(`${at}: size ${mod.size} is not a size`);
  return problems;
}

/** Every problem of a manifest ([] when it is whole); with a key, it must be that key's. */
export function manifestProblems(m: unknown, key?: ArtifactKey): string[] {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return [`it is ${m === null ? "null" : Array.isArray(m) ? "a list" : typeof m}, not a manifest`];
  const x = m as Record<string, any>;
  const problems: string[] = [];
  if (typeof x.kernelRelease !== "string" || !/^[A-Za-z0-9._+-]+$/.test(x.kernelRelease)) problems.push(`kernelRelease '${x.kernelRelease}' is not a kernel release`);
  for (const f of ["arch", "set", "sourceIdentity", "builtOn", "builtAt"]) if (typeof x[f] !== "string") problems.push(`${f} is not a string`);
  for (const f of KEY_FIELDS) if (key && x[f] !== key[f]) problems.push(`${f} '${x[f]}' is not the key's '${key[f]}'`);
  if (!Array.isArray(x.modules) || x.modules.length === 0) problems.push("no modules");
  const modules: any[] = Array.isArray(x.modules) ? x.modules : [];
  modules.forEach((mod, i) => problems.push(...moduleProblems(mod, i, String(x.kernelRelease))));
  if (new Set(modules.map((mod) => mod?.name)).size !== modules.length) problems.push("a module name appears twice");
  return problems;
}

/** Throws with every problem of a manifest. */
export function checkManifest(m: ArtifactManifest): void {
  const problems = manifestProblems(m);
  if (problems.length) throw new Error(`artifact manifest of ${(m as any)?.set} for ${(m as any)?.kernelRelease}: ${problems.join("; ")}`);
}

/** Throws unless every module of the manifest has its file, matching its sha256 and size. */
export function checkFiles(manifest: ArtifactManifest, files: ReadonlyMap<string, Buffer>): void {
  for (const m of manifest.modules) {
    const data = files.get(m.name);
    if (!data) throw new Error(`artifact of ${manifest.set} for ${manifest.kernelRelease}: no file for module ${m.name}`);
    if (data.length !== m.size || sha256(data) !== m.sha256) throw new Error(`artifact of ${manifest.set} for ${manifest.kernelRelease}: ${m.name}.ko does not match its manifest (sha256 ${sha256(data).slice(0, 12)}…, expected ${m.sha256.slice(0, 12)}…)`);
  }
}
