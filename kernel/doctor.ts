/**
 * The doctor: explains the dmesg lines of a failed module load against the running
 * kernel's config (and, when given, its Module.symvers).
 *
 * For an unknown symbol it finds where the source exports it, the Kbuild rule and options
 * that build that file, and what those options are in the running kernel:
 * - exported by vmlinux per Module.symvers (or built in per the config): the module was
 *   built for another kernel build, or misses a namespace import;
 * - exported by a module: that module must be loaded first (modprobe does it when depmod
 *   is current);
 * - gated by an option that is off: a tristate can be built as one more module; a bool
 *   links into vmlinux, so no module can ever provide it: a dead end, a new kernel is needed.
 */
import { parseDmesg, DmesgEvent } from "./dmesg";
import { parseDotConfig } from "./dotconfig";
import { Evaluation } from "./evaluate";
import { exprSymbols } from "./expr";
import { KernelModel } from "./model";
import { moduleName } from "./kbuild";
import { parseSymvers } from "./symvers";
import { ExportSite, locateExports } from "./exports";
import { N, Y, triName } from "./tristate";

export type Cause = "dead-end" | "module-not-built" | "load-first" | "in-kernel" | "crc-mismatch" | "namespace" | "vermagic" | "signature" | "not-found";

export interface Finding {
  module: string;
  symbol?: string;
  cause: Cause;
  /** Where the source exports the symbol and what builds it. */
  source?: {
    file: string;
    line: number;
    rule: string; // "drivers/video/Makefile:5: obj-$(CONFIG_HDMI) += hdmi.o"
    options: { option: string; type: string; value: string }[];
    builtInto: "vmlinux" | "module" | "not built";
    module?: string;
  };
  /** What Module.symvers says, when given. */
  symvers?: { module: string; namespace?: string };
  detail: string;
  line: string;
}

export interface DoctorResult {
  findings: Finding[];
  /** Findings grouped by cause, with the fix for the group. */
  groups: { cause: Cause; title: string; fix: string; symbols: string[]; options: string[]; modules: string[] }[];
}

const TITLES: Record<Cause, [string, string]> = {
  "dead-end": ["Built-in-only options that are off in the running kernel (dead end)", "No module can provide these symbols: boot a kernel built with these options, or drop the module that needs them."],
  "module-not-built": ["Exported by modules that are not built for this kernel", "Build them too: kmod-fleet preflight OPTION=m, then build and load them before this module."],
  "load-first": ["Exported by modules that are not loaded", "Load those modules first (modprobe resolves this itself once `depmod -a` has run after installing)."],
  "in-kernel": ["Exported by the running kernel itself", "The module was built against a different kernel build or config: rebuild it against this kernel's exact sources, .config and Module.symvers."],
  "crc-mismatch": ["Symbol version (CRC) mismatch", "Rebuild the module against the running kernel's Module.symvers (same kernel build, not only the same version)."],
  namespace: ["Symbols used without importing their namespace", "Add MODULE_IMPORT_NS(<namespace>) to the module source, or rebuild it with the kernel's own Kbuild which adds it."],
  vermagic: ["Built for a different kernel (vermagic)", "Rebuild the module for the running kernel release (uname -r) and its config."],
  signature: [
    "Refused for its signature: this kernel loads only modules signed with a key it trusts",
    "Sign the module with a key the kernel trusts (a Machine Owner Key where the kernel trusts those; Flatcar's kernels trust only their own build key, which is thrown away), or boot with Secure Boot and lockdown off.",
  ],
  "not-found": ["Not exported anywhere in this source tree", "Check that --source is the running kernel's tree; the symbol may come from an out-of-tree module."],
};

export function doctor(model: KernelModel, configText: string, dmesgText: string, symversText?: string): DoctorResult {
  const ev = new Evaluation(model.kconfig, parseDotConfig(configText));
  const symvers = symversText !== undefined ? parseSymvers(symversText) : undefined;
  const events = parseDmesg(dmesgText);
  // Only symbols Module.symvers cannot explain need a look at the sources.
  const wanted = events.flatMap((e) => (e.kind === "unknown-symbol" && !symvers?.has(e.symbol) ? [e.symbol] : []));
  const exports = wanted.length ? locateExports(model.tree, model.kbuild, wanted) : new Map();
  const findings = events.map((e) => explain(model, ev, symvers, exports, e));
  return { findings, groups: group(findings) };
}

type Exports = Map<string, ExportSite[]>;

function explain(model: KernelModel, ev: Evaluation, symvers: ReturnType<typeof parseSymvers> | undefined, exports: Exports, e: DmesgEvent): Finding {
  if (e.kind === "vermagic") return { module: e.module, cause: "vermagic", detail: `built for '${e.have}', the kernel is '${e.want}'`, line: e.line };
  if (e.kind === "signature") {
    const how = e.enforcedBy === "lockdown" ? "the kernel is locked down (integrity), which requires a valid signature" : "module.sig_enforce is on";
    return { module: e.by || "(the module being loaded)", cause: "signature", detail: `${e.reason} refused: ${how}`, line: e.line };
  }
  const sv = symvers?.get(e.symbol);
  const svInfo = sv ? { module: sv.module, namespace: sv.namespace } : undefined;
  if (e.kind === "crc") return { module: e.module, symbol: e.symbol, cause: "crc-mismatch", symvers: svInfo, detail: `${e.symbol}: the module expects another version (CRC) than the kernel's`, line: e.line };
  if (e.kind === "namespace")
    return { module: e.module, symbol: e.symbol, cause: "namespace", symvers: svInfo, detail: `${e.symbol} is in namespace ${e.namespace}; the module does not import it`, line: e.line };

  const source = locate(model, ev, exports, e.symbol);
  const base = { module: e.module, symbol: e.symbol, source, symvers: svInfo, line: e.line };
  if (sv) {
    if (sv.module === "vmlinux") {
      const ns = sv.namespace ? `, in namespace ${sv.namespace} (the module must import it)` : "";
      return { ...base, cause: "in-kernel", detail: `${e.symbol} is exported by the running kernel (vmlinux)${ns}` };
    }
    const mod = sv.module.split("/").pop()!.replace(/-/g, "_");
    return { ...base, cause: "load-first", detail: `${e.symbol} is exported by module ${mod} (${sv.module}.ko): load ${mod} first` };
  }
  if (!source) return { ...base, cause: "not-found", detail: `no EXPORT_SYMBOL(${e.symbol}) in a file Kbuild builds` };
  const offOptions = source.options.filter((o) => o.value === "n");
  const what = `${e.symbol} comes from ${source.file} (${source.rule})`;
  if (!symvers && source.builtInto === "vmlinux") return { ...base, cause: "in-kernel", detail: `${what}, built into the running kernel` };
  if (!symvers && source.builtInto === "module") return { ...base, cause: "load-first", detail: `${what}, module ${source.module}: load ${source.module} first` };
  const bools = offOptions.filter((o) => o.type === "bool");
  if (bools.length || offOptions.length === 0)
    return { ...base, cause: "dead-end", detail: `${what}; ${bools.map((o) => o.option).join(", ") || "its option"} is a bool that is off: its code can only be built into vmlinux` };
  return { ...base, cause: "module-not-built", detail: `${what}; ${offOptions.map((o) => o.option).join(", ")} is off, and can be built as module ${source.module}` };
}

function locate(model: KernelModel, ev: Evaluation, exports: Exports, symbol: string): Finding["source"] {
  const sites = exports.get(symbol);
  if (!sites?.length) return undefined;
  const site = sites[0];
  const object = site.file.replace(/\.[cS]$/, ".o");
  const placements = model.kbuild.byObject.get(object) ?? [];
  // The placement that builds the most (y over m over n) describes the running kernel best.
  let best = placements[0];
  let bestVal = best ? ev.expr(best.gate) : N;
  for (const p of placements) {
    const v = ev.expr(p.gate);
    if (v > bestVal) [best, bestVal] = [p, v];
  }
  if (!best) return { file: site.file, line: site.line, rule: "(no Kbuild rule found)", options: [], builtInto: "not built" };
  const options = [...exprSymbols(best.gate)].map((o) => ({ option: o, type: model.kconfig.symbols.get(o)?.type ?? "unknown", value: triName(ev.tri(o)) }));
  return {
    file: site.file,
    line: site.line,
    rule: `${best.rule.file}:${best.rule.line}: ${best.rule.text}`,
    options,
    builtInto: bestVal === Y ? "vmlinux" : bestVal === N ? "not built" : "module",
    module: moduleName(best.target),
  };
}

function group(findings: Finding[]): DoctorResult["groups"] {
  const out: DoctorResult["groups"] = [];
  for (const cause of Object.keys(TITLES) as Cause[]) {
    const fs = findings.filter((f) => f.cause === cause);
    if (!fs.length) continue;
    const uniq = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();
    out.push({
      cause,
      title: TITLES[cause][0],
      fix: TITLES[cause][1],
      symbols: uniq(fs.map((f) => f.symbol)),
      options: uniq(fs.flatMap((f) => (cause === "dead-end" || cause === "module-not-built" ? (f.source?.options ?? []).filter((o) => o.value === "n").map((o) => o.option) : []))),
      modules: uniq(fs.map((f) => (cause === "load-first" ? f.detail.match(/load (\S+) first/)?.[1] : cause === "module-not-built" ? f.source?.module : f.module))),
    });
  }
  return out;
}
