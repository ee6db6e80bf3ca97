/**
 * A kernel tree parsed once and queried many times: the Kconfig model is built eagerly,
 * the Kbuild index and the export index only when first needed (a preflight reads no .c
 * files but those of dead-end objects; the doctor indexes exports once). A model can also
 * come ready-made from a cache of parsed trees (modelData.ts, kernel/disk/modelCache.ts).
 */
import { KconfigModel, ParseOptions, parseKconfig } from "./kconfigParser";
import { KbuildIndex, indexKbuild } from "./kbuild";
import { ExportSite, indexExports } from "./exports";
import { SourceTree } from "./sourceTree";
import { Evaluation } from "./evaluate";
import { ConfigValues } from "./dotconfig";
import { readerIndex } from "./impact";
import type { ParsedModel } from "./modelData";
import { LazyMap } from "./lazyMap";

export interface ModelOptions {
  /** Architecture directory under arch/ (default "x86"). */
  arch?: string;
  /** The parsed model of this tree for this architecture, e.g. from a cache; the tree is then read only for .c files. */
  parsed?: ParsedModel;
}

export class KernelModel {
  readonly kconfig: KconfigModel;
  private kbuildIndex?: KbuildIndex;
  private exportIndex?: Map<string, ExportSite[]>;
  private readerMap?: ReadonlyMap<string, readonly string[]>;
  private orderMap?: Map<string, number>;
  readonly arch: string;

  constructor(readonly tree: SourceTree, opts: ModelOptions = {}) {
    this.arch = opts.arch ?? "x86";
    if (opts.parsed) {
      this.kconfig = opts.parsed.kconfig;
      this.kbuildIndex = opts.parsed.kbuild;
      this.readerMap = opts.parsed.readers;
    } else {
      const parseOpts: ParseOptions = { srcarch: this.arch };
      this.kconfig = parseKconfig(tree, parseOpts);
    }
    if (this.kconfig.files.length === 0) throw new Error("no Kconfig at the top of the source tree: is --source a kernel tree?");
  }

  private base?: { key: string; ev: Evaluation };

  /**
   * The evaluation of a running config (lazy and memoized), kept for the last config seen:
   * a pipeline or a test runs many preflights against the same running kernel.
   */
  baseline(configText: string, probeText: string, running: ConfigValues, probe: ConfigValues): Evaluation {
    const key = configText + "\u0000" + probeText;
    if (this.base?.key !== key) this.base = { key, ev: new Evaluation(this.kconfig, running, probe) };
    return this.base.ev;
  }

  get kbuild(): KbuildIndex {
    return (this.kbuildIndex ??= indexKbuild(this.tree, { srcarch: this.arch }));
  }

  /** symbol → the symbols whose value reads it (impact.ts). */
  get readers(): ReadonlyMap<string, readonly string[]> {
    return (this.readerMap ??= readerIndex(this.kconfig));
  }

  /** Everything a cache stores: the Kconfig model, the Kbuild index and the readers (computed now if not yet). */
  get parsed(): ParsedModel {
    return { kconfig: this.kconfig, kbuild: this.kbuild, readers: this.readers };
  }

  /** A symbol's position in the Kconfig files (the order olddefconfig writes them in). */
  order(name: string): number {
    const symbols = this.kconfig.symbols;
    if (symbols instanceof LazyMap) return symbols.position(name) ?? Number.MAX_SAFE_INTEGER;
    if (!this.orderMap) {
      this.orderMap = new Map();
      for (const n of this.kconfig.symbols.keys()) this.orderMap.set(n, this.orderMap.size);
    }
    return this.orderMap.get(name) ?? Number.MAX_SAFE_INTEGER;
  }

  /** symbol → where the source exports it (all objects Kbuild knows; computed once). */
  get exports(): Map<string, ExportSite[]> {
    return (this.exportIndex ??= indexExports(this.tree, this.kbuild));
  }
}
