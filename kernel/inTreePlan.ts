// What an in-tree module set builds, from the preflight's report on the host's own tree:
// the options to set (the requested ones and the dependencies the preflight added, so a
// user writes only the options they want) and the M= directories that hold the new
// modules. Kbuild descends only into subdirectories, so a directory below another one on
// the list is built with it and is dropped. No imports: the build provider serializes it.
import type { PreflightResult } from "./preflight";

export interface InTreePlan {
  /** `OPTION=m`, `OPTION=y` or `OPTION=n` (an optional feature the set keeps off), requests first. */
  options: string[];
  /** M= directories, topmost only; the build orders them by the symbols they use. */
  directories: string[];
  /** Why the user's own directories do not fit the new modules (empty: they do). */
  problems: string[];
}

const dirOf = (file: string): string => file.split("/").slice(0, -1).join("/");
const under = (dir: string, parent: string): boolean => dir === parent || dir.startsWith(`${parent}/`);

/** The directories of `dirs` that no other one of them contains, in their first order. */
export function topmost(dirs: string[]): string[] {
  const unique = [...new Set(dirs)];
  return unique.filter((d) => !unique.some((o) => o !== d && under(d, o)));
}

/**
 * `userDirectories`: what the set's config lists, if anything. They are kept as given,
 * and checked: every new module must lie in one of them, and each must hold one.
 */
export function inTreePlan(report: Pick<PreflightResult, "requests" | "added" | "newModules">, userDirectories: string[] = []): InTreePlan {
  const options = [...report.requests.map((r) => `${r.option}=${r.value}`), ...report.added.map((a) => `${a.option}=${a.value}`)];
  const moduleDirs = report.newModules.map((m) => dirOf(m.file));
  if (report.newModules.length === 0 && userDirectories.length === 0) {
    return { options, directories: [], problems: [`nothing new to build: with ${options.join(" ")} the kernel gets no new module (already built as modules? modprobe them without a module set)`] };
  }
  if (userDirectories.length === 0) return { options, directories: topmost(moduleDirs), problems: [] };
  const problems: string[] = [];
  for (const m of report.newModules) {
    if (!userDirectories.some((d) => under(dirOf(m.file), d))) {
      problems.push(`the new module ${m.file} is in none of the directories listed (${userDirectories.join(", ")}): add ${dirOf(m.file)}, or leave directories out to have them derived`);
    }
  }
  for (const d of report.newModules.length > 0 ? userDirectories : []) {
    if (!moduleDirs.some((md) => under(md, d))) problems.push(`the directory ${d} holds none of the new modules (${report.newModules.map((m) => m.file).join(", ") || "none"})`);
  }
  return { options, directories: userDirectories, problems };
}
