// The rules the host scripts check their values with: the regexes of the TypeScript side
// (config/names.ts, config/paths.ts), turned into bash when the scripts are sent. One
// source, so a value the config or a host's facts pass is one every host script accepts,
// and a value one script refuses, every script refuses with the same message.
import { MODULE_NAME, PLAIN_NAME, PLAIN_NAME_MAX, SET_NAME } from "../../config/names";
import { PLAIN_ABSOLUTE_PATH } from "../../config/paths";
import { LIMITS } from "../../config/schema";

export interface ValueRule {
  pattern: RegExp;
  /** Characters at most. */
  max: number;
  /** What a refusal says is expected. */
  expected: string;
}

/** The kinds of checked values in a script's environment (host/scripts/verbs.ts). */
export const VALUE_RULES = {
  /** A value a host reports: a kernel release (uname -r), an OS version. */
  plain: {
    pattern: PLAIN_NAME,
    max: PLAIN_NAME_MAX,
    expected: `one plain name of at most ${PLAIN_NAME_MAX} letters, digits, '.', '_', '+', '~', '-' (not starting with '.' or '-')`,
  },
  set: { pattern: SET_NAME, max: 41, expected: "a module set name of lowercase letters, digits, '-' and '_' (at most 41)" },
  module: { pattern: MODULE_NAME, max: LIMITS.moduleName, expected: `a module name as modprobe takes it (at most ${LIMITS.moduleName} letters, digits, '_', '-', not starting with '-')` },
  path: {
    pattern: PLAIN_ABSOLUTE_PATH,
    max: LIMITS.path,
    expected: "a plain absolute path (letters, digits, '.', '_', '+', '~', '-' between '/'; no spaces, globs, ',', ':', '=', no '.' or '..' segments, no '//' or trailing '/')",
  },
  /** An artifact id: a sha256 in hex. */
  hex: { pattern: /^[0-9a-f]+$/, max: 64, expected: "a hex id of at most 64 digits" },
} satisfies Record<string, ValueRule>;

export type ValueKind = keyof typeof VALUE_RULES;

/** The TypeScript side of a check; the prelude's `check_value` must agree (test/unit/hostRules.test.ts). */
export function isValidValue(kind: ValueKind, value: string): boolean {
  const rule = VALUE_RULES[kind];
  return value.length <= rule.max && rule.pattern.test(value);
}

/** A regex as bash's [[ =~ ]] reads it: JavaScript escapes '/' in a regex's source, ERE needs no escape. */
function ere(pattern: RegExp): string {
  const source = pattern.source.replaceAll("\\/", "/");
  if (/[\\']/.test(source) || pattern.flags !== "") throw new Error(`the rule ${pattern} cannot be read by bash alike: no escapes, quotes or flags`);
  return source;
}

/** bash's half of the rules: `kmod_fleet_rule KIND` sets rule_re, rule_max and rule_expected. */
export function rulesShell(): string {
  const cases = Object.entries(VALUE_RULES as Record<string, ValueRule>).map(
    ([kind, r]) => `  ${kind}) rule_re='${ere(r.pattern)}' rule_max=${r.max} rule_expected=${shellQuoted(r.expected)} ;;`,
  );
  return [
    "# The value rules, generated from the TypeScript side (host/scripts/rules.ts).",
    "kmod_fleet_rule() { # $1 = kind",
    '  case "$1" in',
    ...cases,
    '  *) echo "kmod-fleet: no rule for the kind $1" >&2; exit 70 ;;',
    "  esac",
    "}",
    "",
  ].join("\n");
}

function shellQuoted(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
