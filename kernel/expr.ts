/**
 * Kconfig expressions, one small shape. Symbols are referenced by name (a name no `config`
 * defines evaluates to n, and its string value is the name itself: that is how the numbers
 * in `default 0x1000` and `range 1 64` work).
 *
 * `macro` stands for a `$(...)` call whose result depends on the machine that runs
 * Kconfig (`$(cc-option,...)`, `$(shell,...)`). It cannot be computed here; evaluate.ts
 * takes such values from the running config instead.
 */
export type CmpOp = "=" | "!=" | "<" | "<=" | ">" | ">=";

export type Expr =
  | { k: "sym"; name: string }
  | { k: "const"; value: string } // a quoted string, or y/m/n
  | { k: "macro"; text: string }
  | { k: "not"; a: Expr }
  | { k: "and"; a: Expr; b: Expr }
  | { k: "or"; a: Expr; b: Expr }
  | { k: "cmp"; op: CmpOp; a: Expr; b: Expr };

export const Y_EXPR: Expr = { k: "const", value: "y" };

/** AND that keeps the tree small: `y && e` is `e`. Used when stacking menu/if dependencies. */
export function andExpr(a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (!a || isConstY(a)) return b;
  if (!b || isConstY(b)) return a;
  return { k: "and", a, b };
}

export function orExpr(a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (!a) return b;
  if (!b) return a;
  return { k: "or", a, b };
}

function isConstY(e: Expr): boolean {
  return e.k === "const" && e.value === "y";
}

export function containsMacro(e: Expr): boolean {
  switch (e.k) {
    case "macro":
      return true;
    case "sym":
    case "const":
      return false;
    case "not":
      return containsMacro(e.a);
    default:
      return containsMacro(e.a) || containsMacro(e.b);
  }
}

/** Every symbol name an expression mentions. */
export function exprSymbols(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "sym":
      out.add(e.name);
      break;
    case "const":
    case "macro":
      break;
    case "not":
      exprSymbols(e.a, out);
      break;
    default:
      exprSymbols(e.a, out);
      exprSymbols(e.b, out);
  }
  return out;
}

/** Kconfig syntax again, for reports ("DRM && (FB=y || !FB)"). */
export function exprToString(e: Expr, parentPrec = 0): string {
  switch (e.k) {
    case "sym":
      return e.name;
    case "const":
      return /^[ymn]$/.test(e.value) ? e.value : JSON.stringify(e.value);
    case "macro":
      return e.text;
    case "not":
      return "!" + exprToString(e.a, 3);
    case "cmp":
      return `${exprToString(e.a, 3)}${e.op}${exprToString(e.b, 3)}`;
    case "and": {
      const s = `${exprToString(e.a, 2)} && ${exprToString(e.b, 2)}`;
      return parentPrec > 2 ? `(${s})` : s;
    }
    case "or": {
      const s = `${exprToString(e.a, 1)} || ${exprToString(e.b, 1)}`;
      return parentPrec > 1 ? `(${s})` : s;
    }
  }
}
