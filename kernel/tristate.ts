/**
 * Kconfig's three-valued logic: n = 0, m = 1, y = 2. AND is min, OR is max, NOT is 2 - x.
 * Keeping the values as small integers makes every rule in evaluate.ts one arithmetic step.
 */
export type Tri = 0 | 1 | 2;
export const N: Tri = 0;
export const M: Tri = 1;
export const Y: Tri = 2;

export const and = (a: Tri, b: Tri): Tri => (a < b ? a : b);
export const or = (a: Tri, b: Tri): Tri => (a > b ? a : b);
export const not = (a: Tri): Tri => (2 - a) as Tri;

export function triName(t: Tri): "n" | "m" | "y" {
  return t === 2 ? "y" : t === 1 ? "m" : "n";
}

/** "y"/"m"/"n" to Tri; anything else (a string, a number) is n, as Kconfig does for non-tristates. */
export function parseTri(s: string | undefined): Tri {
  return s === "y" ? Y : s === "m" ? M : N;
}
