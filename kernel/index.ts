/**
 * Kernel knowledge for kmod-fleet: predicts, before any build, whether extra options can be
 * built as modules for a running kernel, and explains the dmesg lines of a failed load.
 * Pure: nothing here reads files or runs programs; the caller supplies a SourceTree.
 *
 *   preflight(tree, configText, ["DRM_I915=m"], { arch: "x86" }) → PreflightResult
 *     verdict "ok" | "no-op" | "dead-end" | "not-available" | "unknown"; notAvailable (requests
 *     this architecture cannot have: another architecture's option, or dependencies that can
 *     never hold there, with the reason); added (dependencies set for the request),
 *     changes (what olddefconfig would change), newModules (the .ko files), deadEnds
 *     (options whose code links into vmlinux: objects, missing symbols, neededBy chain),
 *     conflicts (requests that cannot hold), unknowns (what Kbuild/Kconfig lines could not
 *     be decided, with file:line), alternatives (for a dead end: the request with optional
 *     options =n that would work). A dead end means: refuse to build; unknown means: warn,
 *     the prediction cannot promise ok; not-available means: refuse, no kernel of this
 *     architecture helps. Requests may be OPTION=m|y|n; unknownRequests() names the ones no
 *     Kconfig of the tree defines (typos), with near names.
 *   renderPreflight(result) → a short text report.
 *
 *   doctor(tree, configText, dmesgText, symversText?) → DoctorResult
 *     one finding per Unknown symbol / CRC / namespace / vermagic line, grouped by cause
 *     (dead-end, module-not-built, load-first, in-kernel, crc-mismatch, namespace,
 *     vermagic, not-found) with the fix.
 *   renderDoctor(result) → a short text report.
 *
 * Parsing the tree (1,500 Kconfig files on 6.1) is the expensive part: for several calls
 * build one `new KernelModel(tree, { arch })` and pass it instead of the tree; across
 * processes, encodeModel/decodeModel (modelData.ts) give it back without parsing (the
 * CLI's cache, kernel/disk/modelCache.ts).
 *
 * Files a tree must serve: Kconfig* (all reachable from the top Kconfig), Kbuild/Makefile
 * of every directory reachable from the top Kbuild and arch/<arch>/Makefile; the .c/.S
 * files of dead-end objects (preflight) and of every built object (doctor, export index).
 *
 * The change set is the same olddefconfig computes (tested on 200+ options against
 * `make O=... olddefconfig` of Debian 6.1). Values set by compiler probes
 * (`$(cc-option,...)`) are taken from the running config, as the running kernel was built
 * with them.
 */
export { SourceTree, memoryTree } from "./sourceTree";
export { KernelModel, ModelOptions } from "./model";
export { PreflightResult, PreflightOptions, NeededBy, Verdict, Unknown } from "./preflight";
export { Alternative } from "./alternatives";
export { Site } from "./kbuild";
export { DoctorResult, Finding, Cause } from "./doctor";
export { renderPreflight, renderDoctor } from "./render";
export { parseDotConfig, applyAssignments, parseAssignment, notAConfig, ConfigValues } from "./dotconfig";
export { ARCH_DIRS, archDirOf, knownArchNames, definingArchs } from "./archSupport";
export { unknownRequests } from "./requestNames";
export { parseSymvers, SymversEntry } from "./symvers";
export { parseDmesg, DmesgEvent } from "./dmesg";

import { SourceTree } from "./sourceTree";
import { KernelModel } from "./model";
import { archDirOf } from "./archSupport";
import { preflight as preflightModel, PreflightResult, PreflightOptions } from "./preflight";
import { doctor as doctorModel, DoctorResult } from "./doctor";

/**
 * The kernel's architecture directory (arch/<dir>, SRCARCH) for a machine name as
 * `uname -m` prints it or a folder name: x86_64 → x86, aarch64 → arm64, riscv64 → riscv,
 * ppc64le → powerpc, s390x → s390. Unknown names are returned as they are (the CLI refuses them).
 */
export function srcarchOf(machine: string): string {
  return archDirOf(machine) ?? machine.trim();
}

export interface AnalysisOptions {
  /** Architecture directory under arch/; default "x86". Ignored when a KernelModel is passed. */
  arch?: string;
}

function modelOf(tree: SourceTree | KernelModel, opts: AnalysisOptions): KernelModel {
  return tree instanceof KernelModel ? tree : new KernelModel(tree, { arch: opts.arch });
}

export function preflight(tree: SourceTree | KernelModel, configText: string, requests: string[], opts: PreflightOptions & AnalysisOptions = {}): PreflightResult {
  return preflightModel(modelOf(tree, opts), configText, requests, opts);
}

export function doctor(tree: SourceTree | KernelModel, configText: string, dmesgText: string, symversText?: string, opts: AnalysisOptions = {}): DoctorResult {
  return doctorModel(modelOf(tree, opts), configText, dmesgText, symversText);
}
