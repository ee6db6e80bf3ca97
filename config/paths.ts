// What a plain absolute path is, for the config schema and for the values hosts report.
// No imports: providers serialize the functions they use (see host/ssh/session.ts).

// No ',' ':' or '=' either: the paths go into overlayfs mount options and systemd-nspawn binds.
// A segment never starts with '.': no `.` or `..` segments. The host scripts' prelude checks
// paths with this same regex (host/scripts/rules.ts).
export const PLAIN_ABSOLUTE_PATH = /^(\/[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*)+$/;

/**
 * An absolute path of plain characters: no spaces or line breaks, no glob or shell
 * characters, no `.` or `..` segments, no trailing `/` (host scripts create and remove
 * these folders).
 */
export function isPlainAbsolutePath(s: string): boolean {
  return PLAIN_ABSOLUTE_PATH.test(s) && !s.split("/").some((seg) => seg === "." || seg === "..");
}

/**
 * Whether `inner` is `outer` or a folder below it, compared by whole path segments:
 * /usr/lib/modules-extra is not inside /usr/lib/modules.
 */
export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith("/") ? outer : `${outer}/`);
}
