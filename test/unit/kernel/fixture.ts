/** Tiny in-memory kernel trees for the unit tests: a Kconfig text and optional makefiles. */
import { KernelModel, memoryTree } from "../../../kernel";
import { Evaluation } from "../../../kernel/evaluate";
import { parseDotConfig } from "../../../kernel/dotconfig";

export function model(kconfig: string, files: Record<string, string> = {}): KernelModel {
  return new KernelModel(memoryTree({ Kconfig: kconfig, ...files }));
}

/** Values of the named symbols after evaluating `config` (a .config text) on `kconfig`. */
export function values(kconfig: string, config: string, names: string[], files: Record<string, string> = {}): Record<string, string> {
  const m = model(kconfig, files);
  const ev = new Evaluation(m.kconfig, parseDotConfig(config));
  return Object.fromEntries(names.map((n) => [n, ev.str(n)]));
}
