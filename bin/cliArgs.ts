/**
 * The kmod-fleet command line's words: the help of each command, and the parsing of its
 * arguments into values, switches and requests. A mistake is a UsageError (one line, then
 * where the command's help is); `-h`/`--help` anywhere asks for that command's help.
 */
import * as path from "path";

export const COMMANDS = ["preflight", "doctor", "watch"] as const;
export type Command = (typeof COMMANDS)[number];

const GLOBAL_HELP = `usage:
  kmod-fleet <command> [options]     (kmod-fleet <command> --help for its options)
  preflight   predict whether kernel options can be built as modules for a running kernel
  doctor      explain the Unknown symbol / CRC / namespace / vermagic lines of a failed modprobe
  watch       keep a stack converged unattended: preview every interval, up only when needed
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
  watch: `usage:
  kmod-fleet watch --stack <name> [--interval <seconds>] [--once | --rounds <n>] [--refresh]
                   [--cwd <project dir>]
  Keeps the stack's fleet converged with nobody at the keyboard, through the Pulumi CLI on
  the PATH (the project's state backend and passphrase come from the environment, as for
  pulumi itself). Each round runs a preview and runs up (with --continue-on-error) only when
  the preview plans a change: a staged release's new installs, a missing install, a new host.
  One host that fails or cannot be reached never holds the others back. Every round prints
  one JSON line per host (time, round, action none|up|preview, host, outcome
  ok|failed|unreachable, changes, message) and one summary line (hosts: counts per outcome).
  --stack <name>        the stack to keep converged (required)
  --interval <seconds>  time between the end of a round and the start of the next (default 300)
  --once                one round, then exit
  --rounds <n>          stop after n rounds (default: run until SIGTERM or SIGINT)
  --refresh             preview and up with --refresh, so that drift (a deleted module, an
                        unloaded one, an unmounted overlay) is seen and repaired
  --cwd <dir>           the Pulumi project folder (default: the current folder)
  SIGTERM or SIGINT lets the running operation stop cleanly (Pulumi cancels it: no new
  step starts, running ones finish), then exits 0.
exit status: 0 done or stopped by a signal (failed rounds and hosts are logged, not fatal),
             1 cannot start (no Pulumi project, no such stack, no Pulumi CLI), 2 usage error.`,
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

/** What `kmod-fleet watch` was asked to do. */
export interface WatchArgs {
  stack: string;
  intervalSeconds: number;
  /** Rounds to run before exiting; undefined runs until a signal. */
  rounds?: number;
  refresh: boolean;
  projectDir: string;
}

export const DEFAULT_WATCH_INTERVAL = 300;

/** A whole number of at least 1 (and at most `max`), or a UsageError naming the flag. */
function wholeNumber(flag: string, text: string, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`${flag} ${text}: expected a whole number from 1 to ${max}`, "watch");
  }
  return Number(text);
}

/** `kmod-fleet watch` arguments; `cwd` is where a relative --cwd starts. */
export function parseWatchArgs(argv: string[], cwd: string): WatchArgs {
  const { values, set, rest } = parseArgs("watch", argv, ["--stack", "--interval", "--rounds", "--cwd"], ["--once", "--refresh"]);
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, "watch");
  if (!values["--stack"]) throw new UsageError("--stack is required: the name of the stack to keep converged", "watch");
  if (set.has("--once") && values["--rounds"] !== undefined) throw new UsageError("--once and --rounds exclude each other", "watch");
  return {
    stack: values["--stack"],
    intervalSeconds: values["--interval"] === undefined ? DEFAULT_WATCH_INTERVAL : wholeNumber("--interval", values["--interval"], 86_400),
    rounds: set.has("--once") ? 1 : values["--rounds"] === undefined ? undefined : wholeNumber("--rounds", values["--rounds"], 1_000_000),
    refresh: set.has("--refresh"),
    projectDir: path.resolve(cwd, values["--cwd"] ?? "."),
  };
}
