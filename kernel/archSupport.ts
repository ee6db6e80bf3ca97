/**
 * Architectures: which names `--arch` accepts (the kernel's arch/ folder names and the
 * machine names `uname -m` prints), and which architecture defines an option that the
 * analysed one does not have (X86_MSR is only in arch/x86/Kconfig; asked for on arm64, the
 * answer is "an x86 option", not "no such option").
 */
import { SourceTree, dirname, joinPath } from "./sourceTree";

/** The kernel's arch/ folders, 4.x to 6.x (some were removed over time). */
export const ARCH_DIRS = [
  "alpha", "arc", "arm", "arm64", "c6x", "csky", "h8300", "hexagon", "ia64", "loongarch", "m68k", "microblaze", "mips",
  "nds32", "nios2", "openrisc", "parisc", "powerpc", "riscv", "s390", "sh", "sparc", "um", "x86", "xtensa",
] as const;

/** `uname -m` names whose arch/ folder has another name. */
const MACHINES: Record<string, string> = {
  x86_64: "x86", amd64: "x86", i386: "x86", i486: "x86", i586: "x86", i686: "x86",
  aarch64: "arm64", aarch64_be: "arm64",
  riscv32: "riscv", riscv64: "riscv",
  ppc: "powerpc", ppcle: "powerpc", ppc64: "powerpc", ppc64le: "powerpc",
  s390x: "s390",
  mipsel: "mips", mips64: "mips", mips64el: "mips",
  loongarch64: "loongarch",
  sparc64: "sparc",
  parisc64: "parisc",
  sh4: "sh", sh4a: "sh",
  armel: "arm", armhf: "arm",
};

/** The names `--arch` accepts, for a usage message. */
export function knownArchNames(): string[] {
  return [...ARCH_DIRS, ...Object.keys(MACHINES), "armv5tel", "armv6l", "armv7l", "armv8l"];
}

/** arch/<dir> for an arch/ folder name or a `uname -m` name; undefined when it is neither. */
export function archDirOf(name: string): string | undefined {
  const n = name.trim();
  if ((ARCH_DIRS as readonly string[]).includes(n)) return n;
  if (MACHINES[n]) return MACHINES[n];
  if (/^armv\d+[a-z]*$/.test(n)) return "arm"; // armv7l, armv6l, armv5tel
  return undefined;
}

export interface ArchDefinition {
  arch: string;
  file: string;
  line: number;
}

/**
 * Where other architectures define `name`: a text scan of each arch/<dir>/Kconfig and the
 * files it sources inside arch/<dir>/ (where architectures define their own options).
 * Runs only when a requested name is missing, so it is a scan, not a parse.
 */
export function definingArchs(tree: SourceTree, name: string, except: string): ArchDefinition[] {
  const found: ArchDefinition[] = [];
  const def = new RegExp(`^\\s*(?:menu)?config\\s+${name}\\s*$`);
  for (const arch of ARCH_DIRS) {
    if (arch === except) continue;
    const queue = [`arch/${arch}/Kconfig`];
    const seen = new Set<string>();
    while (queue.length && !found.some((f) => f.arch === arch)) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = tree.read(file);
      if (text === undefined) continue;
      text.split("\n").forEach((line, i) => {
        if (def.test(line)) found.push({ arch, file, line: i + 1 });
        const src = /^\s*(o?r?source)\s+"([^"]+)"/.exec(line);
        if (!src) return;
        const rel = /^o?rsource$/.test(src[1]) ? joinPath(dirname(file), src[2]) : joinPath(src[2].replace(/\$\((SRC)?ARCH\)/g, arch));
        if (rel.startsWith(`arch/${arch}/`)) queue.push(rel);
      });
    }
  }
  return found.filter((f, i) => found.findIndex((g) => g.arch === f.arch) === i);
}
