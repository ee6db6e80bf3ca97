/**
 * A kernel tree parsed once and queried many times: the Kconfig model is built eagerly,
 * the Kbuild index and the export index only when first needed (a preflight reads no .c
 * files but those of dead-end objects; the doctor indexes exports once).
 */
import { KconfigModel, ParseOptions, parseKconfig } from "./kconfigParser";
import { KbuildIndex, indexKbuild } from "./kbuild";
import { ExportSite, indexExports } from "./exports";
import { SourceTree } from "./sourceTree";
import { Evaluation, snapshot } from "./evaluate";
import { ConfigValues } from "./dotconfig";

export interface ModelOptions {
  /** Architecture directory under arch/ (default "x86"). */
  arch?: string;
}

export class KernelModel {
  readonly kconfig: KconfigModel;
  private kbuildIndex?: KbuildIndex;
  private exportIndex?: Map<string, ExportSite[]>;
  readonly arch: string;

  constructor(readonly tree: SourceTree, opts: ModelOptions = {}) {
    this.arch = opts.arch ?? "x86";
    const parseOpts: ParseOptions = { srcarch: this.arch };
    this.kconfig = parseKconfig(tree, parseOpts);
    if (this.kconfig.files.length === 0) throw new Error("no Kconfig at the top of the source tree: is --source a kernel tree?");
  }

  private base?: { key: string; ev: Evaluation; values: Map<string, string | undefined> };

  /**
   * The evaluation of a running config and all its values, kept for the last config seen:
   * a pipeline or a test runs many preflights against the same running kernel.
   */
  baseline(configText: string, probeText: string, running: ConfigValues, probe: ConfigValues): { ev: Evaluation; values: Map<string, string | undefined> } {
    const key = configText + "\u0000" + probeText;
    if (this.base?.key !== key) {
      const ev = new Evaluation(this.kconfig, running, probe);
      this.base = { key, ev, values: snapshot(ev) };
    }
    return this.base;
  }

  get kbuild(): KbuildIndex {
    return (this.kbuildIndex ??= indexKbuild(this.tree, { srcarch: this.arch }));
  }

  /** symbol → where the source exports it (all objects Kbuild knows; computed once). */
  get exports(): Map<string, ExportSite[]> {
    return (this.exportIndex ??= indexExports(this.tree, this.kbuild));
  }
}
