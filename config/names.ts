// The shapes of the names kmod-fleet puts into paths and commands on a host, shared by the
// config schema, the check of what hosts report (host/hostValues.ts) and the host
// scripts' prelude, whose shell checks are generated from these very regexes
// (host/scripts/rules.ts). So each regex is written in the syntax JavaScript and
// POSIX extended regexes (bash's [[ =~ ]]) read alike: anchors, bracket expressions,
// groups, `*`, `+` and `{m,n}`, no backslash escapes.
// No imports: providers serialize the functions they use (see host/ssh/session.ts).

/** One plain name (a kernel release, an OS version): no '/', not starting with '.' or '-', no spaces, globs or quotes. */
export const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

/** The kernel keeps its release (uname -r) and machine name in fields of 64 characters. */
export const PLAIN_NAME_MAX = 64;

/** A module set's name: it becomes part of resource names, file names and folders on hosts. */
export const SET_NAME = /^[a-z0-9][a-z0-9_-]{0,40}$/;

/** A module name as modprobe takes it: no path, no .ko, never read as an option. */
export const MODULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
