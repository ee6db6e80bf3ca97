/**
 * The kmod-fleet command line's words: the help of each command, and the parsing of its
 * arguments into values, switches and requests. A mistake is a UsageError (one line, then
 * where the command's help is); `-h`/`--help` anywhere asks for that command's help.
 */

export const COMMANDS = ["preflight", "doctor"] as const;
export type Command = (typeof COMMANDS)[number];

const GLOBAL_HELP = `usage:
  kmod-fleet <command> [options]     (kmod-fleet <command> --help for its options)
  preflight   predict whether kernel options can be built as modules for a running kernel
  doctor      explain the Unknown symbol / CRC / namespace / vermagic lines of a failed modprobe
  --version   print the version of kmod-fleet
  --help      print this help`;

const ARCH_HELP = `--arch <name>   the architecture: an arch/ folder name (x86, arm64, riscv, powerpc, s390, ...)
                  or the machine name uname -m prints (x86_64, aarch64, riscv64, ppc64le, s390x, ...);
                  default x86. The tree must have arch/<folder>/Kconfig.`;

const CACHE_HELP = `--cache <dir>   where parsed trees are kept (default $XDG_CACHE_HOME/kmod-fleet/parsed,
                  else ~/.cache/kmod-fleet/parsed); the next run on the same files skips the parse
  --no-cache      parse, keep nothing`;

const HELP: Record<Command, string> = {
  preflight: `usage:
  kmod-fleet preflight --source <kernel tree> --config <.config|config.gz|config.xz|->
                       [--arch <name>] [--json] [--cache <dir> | --no-cache] [--sig-enforced]
                       OPTION[=m|y|n] ...
  Predicts what enabling the options does to the running kernel's config, and whether they
  can be built as modules for it. Options may be given with or without CONFIG_; a bare name
  means =m; OPTION=n keeps an optional feature off. A dead end names a variant that would
  work, if one does. A name no Kconfig of the tree defines is a usage error (with near names).
  ${ARCH_HELP}
  ${CACHE_HELP}
  --json          the full result as JSON
  --sig-enforced  the host refuses unsigned modules (module.sig_enforce=Y, lockdown, Secure Boot);
                  the report says what that means
exit status: 0 ok or no-op, 1 dead end (needs a new kernel) or not available on this
             architecture (no kernel of it can have the option), 2 usage error,
             3 unknown (a Kbuild/Kconfig line it cannot decide; never taken as ok).`,
  doctor: `usage:
  kmod-fleet doctor --source <kernel tree> --config <cfg> --dmesg <file|->
                    [--symvers <Module.symvers>] [--arch <name>] [--json] [--cache <dir> | --no-cache]
  Explains the Unknown symbol / CRC / namespace / vermagic lines of a failed modprobe:
  which file exports each symbol, the option that gates it, and the fix.
  ${ARCH_HELP}
  ${CACHE_HELP}
  --json          the full result as JSON
exit status: 0 report printed, 2 usage error.`,
};

/** Help text: a command's, or the overview. */
export function helpText(command?: Command): string {
  return command ? HELP[command] : GLOBAL_HELP;
}

/** A mistake on the command line: printed as one line and a pointer to the command's help (exit 2). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

/** `-h`/`--help` was given: print this command's help (exit 0). */
export class HelpRequest {
  constructor(readonly command?: Command) {}
}

export interface ParsedArgs {
  values: Record<string, string>;
  set: Set<string>;
  rest: string[];
}

/**
 * Splits a command's arguments. A value that looks like an option (`--cache --no-cache`)
 * is refused rather than taken as a folder name; "-" (stdin) is a value for `stdinOk` flags.
 */
export function parseArgs(command: Command, argv: string[], flags: string[], bools: string[], stdinOk: string[] = []): ParsedArgs {
  if (argv.includes("-h") || argv.includes("--help")) throw new HelpRequest(command);
  const values: Record<string, string> = {};
  const set = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (bools.includes(a)) {
      set.add(a);
      continue;
    }
    if (!a.startsWith("-")) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const k = eq > 0 ? a.slice(0, eq) : a;
    if (!flags.includes(k)) throw new UsageError(`unknown option ${k}`, command);
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || v === "") throw new UsageError(`${k} needs a value`, command);
    if (v.startsWith("-") && !(v === "-" && stdinOk.includes(k))) {
      throw new UsageError(`${k} needs a value, not '${v}' (a value starting with '-' is taken as a mistake; write ./${v} for a file of that name)`, command);
    }
    values[k] = v;
  }
  if (set.has("--no-cache") && values["--cache"] !== undefined) throw new UsageError("--cache and --no-cache exclude each other", command);
  return { values, set, rest };
}
