/**
 * Splits a macro's arguments at the commas that are not inside brackets, as make and the
 * Kconfig preprocessor both do. Which characters open and close a nesting level differs:
 * make counts `(` and `{` (both spell a variable reference), Kconfig counts only `(`.
 */
export function splitAtTopLevelCommas(s: string, opens: string, closes: string): string[] {
  const out: string[] = [];
  let level = 0;
  let cur = "";
  for (const c of s) {
    if (opens.includes(c)) level++;
    if (closes.includes(c)) level--;
    if (c === "," && level === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}
