/**
 * Requested names that this architecture's Kconfig does not define: another
 * architecture's option (X86_MSR on arm64: "not available on arm64"), or a name no Kconfig
 * of the tree defines, which is a typo, answered with the nearest names.
 */
import { ArchDefinition, definingArchs } from "./archSupport";
import { parseAssignment } from "./dotconfig";
import { KernelModel } from "./model";

export type NameCheck = { kind: "defined" } | { kind: "other-arch"; defs: ArchDefinition[] } | { kind: "unknown"; near: string[] };

export function checkName(model: KernelModel, name: string): NameCheck {
  const sym = model.kconfig.symbols.get(name);
  if (sym && (sym.isChoice || sym.defs.length > 0)) return { kind: "defined" };
  const defs = definingArchs(model.tree, name, model.arch);
  return defs.length ? { kind: "other-arch", defs } : { kind: "unknown", near: nearNames(model, name) };
}

/** The requests (OPTION=value as given) that name no option of any architecture in the tree, with near names. */
export function unknownRequests(model: KernelModel, requests: string[]): { option: string; near: string[] }[] {
  const out: { option: string; near: string[] }[] = [];
  for (const r of requests) {
    const name = parseAssignment(r)?.name;
    if (!name) continue;
    const c = checkName(model, name);
    if (c.kind === "unknown") out.push({ option: name, near: c.near });
  }
  return out;
}

/** Up to 3 defined names within a small edit distance, or that end with `_NAME` (I915 → DRM_I915). */
function nearNames(model: KernelModel, name: string): string[] {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 4)));
  const scored: [string, number][] = [];
  for (const k of model.kconfig.symbols.keys()) {
    if (Math.abs(k.length - name.length) > limit && !k.endsWith(`_${name}`)) continue;
    const d = k.endsWith(`_${name}`) ? 0.5 : distance(k, name, limit);
    if (d <= limit) scored.push([k, d]);
  }
  return scored
    .filter(([k]) => (model.kconfig.symbols.get(k)?.defs.length ?? 0) > 0)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([k]) => k);
}

/** Edit distance counting a swap of neighbours as one edit (X68 for X86), giving up (limit + 1) past `limit`. */
function distance(a: string, b: string, limit: number): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j], before[j - 2] + 1);
    }
    if (Math.min(...cur) > limit) return limit + 1;
    [before, prev] = [prev, cur];
  }
  return prev[b.length];
}
