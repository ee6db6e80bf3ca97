/**
 * Turns one Kconfig file into logical lines of tokens.
 *
 * - A trailing backslash joins lines; `#` starts a comment outside quotes.
 * - Help text (after `help` or the 4.x spelling `---help---`) is skipped: it ends at the
 *   first non-blank line that starts in column 0 or is indented less than the help's
 *   first line.
 * - `$(...)` is expanded before tokenizing, as the kernel's preprocessor does: `$(SRCARCH)`,
 *   `$(ARCH)` and variables the files define (`cc-option = ...`) are known; anything that
 *   would run a program (`$(shell,...)`, `$(success,...)`) becomes the MACRO sentinel, and
 *   a token containing it is a macro token. The 4.x `$SRCARCH` form is expanded too.
 * - `NAME := value`, `NAME = value`, `NAME += value` define variables and produce no line.
 */
import { splitAtTopLevelCommas } from "./topLevelCommas";

export type Token =
  | { t: "word"; v: string }
  | { t: "str"; v: string }
  | { t: "macro"; v: string }
  | { t: "op"; v: string };

export interface Line {
  tokens: Token[];
  line: number; // 1-based line the logical line starts on
}

export const MACRO = "\u0001MACRO\u0001";

/** Variables for macro expansion, shared by all files of one parse (Kconfig's scope is global). */
export class MacroScope {
  private readonly vars = new Map<string, { value: string; recursive: boolean }>();
  constructor(builtins: Record<string, string>) {
    for (const [k, v] of Object.entries(builtins)) this.vars.set(k, { value: v, recursive: false });
  }

  define(name: string, op: string, value: string): void {
    const old = this.vars.get(name);
    if (op === "+=" && old) {
      const add = old.recursive ? value : this.expand(value);
      this.vars.set(name, { value: old.value + " " + add, recursive: old.recursive });
    } else if (op === ":=") this.vars.set(name, { value: this.expand(value), recursive: false });
    else this.vars.set(name, { value, recursive: true });
  }

  /** Expands every `$(...)` (nested parentheses allowed) and `$NAME` in text. */
  expand(text: string, args: string[] = [], depth = 0): string {
    if (depth > 20 || text.indexOf("$") < 0) return text;
    let out = "";
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c === "$" && text[i + 1] === "(") {
        let level = 0;
        let j = i + 1;
        for (; j < text.length; j++) {
          if (text[j] === "(") level++;
          else if (text[j] === ")" && --level === 0) break;
        }
        out += this.call(text.slice(i + 2, j), args, depth);
        i = j + 1;
      } else if (c === "$" && /[A-Za-z_]/.test(text[i + 1] ?? "")) {
        // 4.x: `source "arch/$SRCARCH/Kconfig"`.
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))!;
        const v = this.vars.get(m[0]);
        out += v ? v.value : MACRO;
        i += 1 + m[0].length;
      } else {
        out += c;
        i++;
      }
    }
    return out;
  }

  private call(inner: string, args: string[], depth: number): string {
    const parts = splitArgs(this.expand(inner, args, depth + 1));
    const name = parts[0].trim();
    if (/^\d+$/.test(name)) return args[Number(name) - 1] ?? "";
    const v = this.vars.get(name);
    if (!v) return MACRO; // shell, success, failure, cc-option's helpers, environment variables
    const value = v.recursive ? this.expand(v.value, parts.slice(1), depth + 1) : v.value;
    return value.includes(MACRO) ? MACRO : value;
  }
}

/** Splits "name,arg1,arg2" at top-level commas: only `(` nests in Kconfig. */
function splitArgs(s: string): string[] {
  return splitAtTopLevelCommas(s, "(", ")");
}

const ASSIGN = /^\s*([A-Za-z0-9_-]+)\s*(:=|\+=|=)\s*(.*)$/;

export function lexKconfig(text: string, scope: MacroScope): Line[] {
  const raw = text.split("\n");
  const lines: Line[] = [];
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let s = raw[i];
    while (s.endsWith("\\") && i + 1 < raw.length) s = s.slice(0, -1) + raw[++i];
    const first = s.trim();
    if (first === "" || first.startsWith("#")) continue;
    if (first === "help" || first === "---help---") {
      i = skipHelp(raw, i);
      continue;
    }
    const assign = s.includes("=") ? ASSIGN.exec(s) : null;
    if (assign && !/^(config|menuconfig|choice|if|depends|default|select|imply|range|prompt|bool|tristate|int|hex|string|def_bool|def_tristate|visible|option|source|menu|comment|mainmenu)$/.test(assign[1])) {
      scope.define(assign[1], assign[2], assign[3].trim());
      continue;
    }
    lines.push({ tokens: tokenize(scope.expand(s)), line: start + 1 });
  }
  return lines;
}

/** Returns the index of the last line of the help block that starts after line i. */
function skipHelp(raw: string[], i: number): number {
  let indent = -1;
  let j = i + 1;
  for (; j < raw.length; j++) {
    const l = raw[j];
    if (l.trim() === "") continue;
    const w = indentWidth(l);
    // Like the kernel's lexer (scripts/kconfig/lexer.l, <HELP>): a line that starts in
    // column 0 always ends the help, even before any help text (an empty `help`, a blank
    // line, then `config`); so does a line indented less than the help's first line.
    if (w === 0) break;
    if (indent < 0) indent = w;
    if (w < indent) break;
  }
  return j - 1;
}

function indentWidth(l: string): number {
  let w = 0;
  for (const c of l) {
    if (c === " ") w++;
    else if (c === "\t") w = (Math.floor(w / 8) + 1) * 8;
    else break;
  }
  return w;
}

// One sticky regex: whitespace, comment, quoted strings, operators, words. Much faster
// than a character loop, which matters for 70,000 lines.
const TOKEN = /\s+|#.*|"((?:\\.|[^"\\])*)"?|'((?:\\.|[^'\\])*)'?|(&&|\|\||!=|<=|>=|[!()<>=])|([^\s"'#!=<>()&|]+)|(.)/y;

export function tokenize(s: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < s.length && (m = TOKEN.exec(s))) {
    const c = m[0].charCodeAt(0);
    if (c === 35 /* # */) break;
    if (m[1] !== undefined || m[2] !== undefined) {
      const v = (m[1] ?? m[2]).replace(/\\(.)/g, "$1");
      out.push(v.includes(MACRO) ? { t: "macro", v } : { t: "str", v });
    } else if (m[3] !== undefined) out.push({ t: "op", v: m[3] });
    else if (m[4] !== undefined) out.push(m[4].includes(MACRO) ? { t: "macro", v: m[4] } : { t: "word", v: m[4] });
    else if (m[5] !== undefined) out.push({ t: "word", v: m[5] }); // a stray character such as a lone '&'
  }
  return out;
}
