/**
 * Short reports a person reads in ten seconds. The JSON (the result objects themselves)
 * carries every detail; these show the verdict first, then only what explains it.
 */
import { PreflightResult } from "./preflight";
import { DoctorResult } from "./doctor";

const MAX_SYMBOLS = 6;

export function renderPreflight(r: PreflightResult): string {
  const out: string[] = [];
  const req = r.requests.map((q) => `${q.option}=${q.value}`).join(" ") || "(nothing valid)";
  const verdict = {
    ok: "OK: can be built as modules for the running kernel",
    "no-op": "NO-OP: the running config already has this",
    "dead-end": "DEAD END: needs a new kernel, modules alone cannot work",
    "not-available": `NOT AVAILABLE on ${r.arch}: this architecture cannot have it, whatever the kernel`,
    unknown: "UNKNOWN: could not be decided from Kconfig/Kbuild; not known to be ok",
  }[r.verdict];
  out.push(`preflight ${req}: ${verdict}`);
  for (const n of r.notAvailable) out.push(`  not available: ${n.reason}`);
  if (r.verdict === "not-available") return out.join("\n") + "\n";
  if (r.added.length) out.push(`  added dependencies: ${r.added.map((a) => `${a.option}=${a.value}`).join(" ")}`);
  out.push(`  ${r.changes.length} option(s) change; ${r.newModules.length} new module(s)${r.newModules.length ? ": " + r.newModules.map((m) => m.module).join(" ") : ""}`);
  for (const c of r.conflicts) out.push(`  conflict: ${c}`);
  if (r.deadEnds.length) {
    out.push("");
    out.push("Built into vmlinux, so no module can provide them:");
    for (const d of r.deadEnds) {
      const chain = d.neededBy.filter((n) => n.how !== "request").map((n) => `${n.how === "depends" ? "needed by" : n.how === "default" ? "on by default with" : n.how + "ed by"} ${n.option}`);
      out.push(`  ${d.option} (${d.type}${d.reason === "module must become built-in" ? ", m would become y" : ""}) ${chain.join(", ")}`);
      if (d.objects.length) out.push(`    objects: ${d.objects.join(" ")}`);
      if (d.missingSymbols.length) {
        const more = d.missingSymbols.length > MAX_SYMBOLS ? ` (+${d.missingSymbols.length - MAX_SYMBOLS} more)` : "";
        out.push(`    missing: ${d.missingSymbols.slice(0, MAX_SYMBOLS).join(" ")}${more}`);
      }
    }
    out.push("");
    for (const a of r.alternatives) {
      const base = r.requests.map((q) => `${q.option}=${q.value}`).join(" ");
      const adds = a.added.length ? `; adds ${a.added.join(" ")}` : "";
      const avoids = a.avoids.length ? `; leaves out ${a.avoids.join(" ")}` : "";
      out.push(`Would work: ${base} with ${a.off.map((o) => `${o.option}=n`).join(" ")} (${a.verdict === "ok" ? "OK" : "NO-OP"}, ${a.changes} option(s) change${adds}${avoids})`);
      for (const o of a.off) if (o.prompt) out.push(`  ${o.option}=n turns off "${o.prompt}"`);
    }
    out.push(
      r.alternatives.length
        ? "Fix: request the variant above (the options set to n are optional features of the request), boot a kernel built with these options, or do not build this module."
        : "Fix: boot a kernel built with these options, or do not build this module.",
    );
  }
  if (r.unknowns.length) {
    out.push("");
    out.push("Undecided (the analysis cannot evaluate these lines; check them by hand or build and test):");
    for (const u of r.unknowns) {
      const objs = u.objects.length ? `: ${u.objects.slice(0, 3).join(" ")}${u.objects.length > 3 ? ` (+${u.objects.length - 3} more)` : ""}` : "";
      out.push(`  ${u.option} ${u.note}${objs}`);
      for (const s of u.sites.slice(0, 3)) out.push(`    unknown at ${s.file}:${s.line}: ${s.text}`);
      if (u.sites.length > 3) out.push(`    (+${u.sites.length - 3} more lines)`);
    }
  }
  for (const w of r.warnings) out.push(`  note: ${w}`);
  return out.join("\n") + "\n";
}

export function renderDoctor(r: DoctorResult): string {
  if (!r.findings.length) return "doctor: no Unknown symbol, CRC, namespace or vermagic lines found in the log\n";
  const out: string[] = [`doctor: ${r.findings.length} problem line(s), ${r.groups.length} cause(s)`];
  for (const g of r.groups) {
    out.push("");
    out.push(`${g.title}:`);
    for (const f of r.findings.filter((f) => f.cause === g.cause)) out.push(`  ${f.module}: ${f.detail}`);
    if (g.options.length) out.push(`  options: ${g.options.join(" ")}`);
    out.push(`  fix: ${g.fix}`);
  }
  return out.join("\n") + "\n";
}
