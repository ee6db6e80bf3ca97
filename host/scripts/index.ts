// The host scripts are read once when the program loads. Providers capture these strings by
// value when Pulumi serializes them, so the provider process never reads files. Each script
// lives next to its provider (components/providers/<resource>/); the shared prelude lives here.
import { readFileSync } from "fs";
import { join } from "path";
import { rulesShell } from "./rules";
import { hostPathsShell } from "../../config/hostPaths";
import type { ScriptName } from "./verbs";

const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

/** One host script: its name in the verbs table (host/scripts/verbs.ts) and its text. */
export interface HostScript<S extends ScriptName = ScriptName> {
  name: S;
  body: string;
}

/** The script `<name>.sh` in the folder `dir`. */
export const hostScript = <S extends ScriptName>(dir: string, name: S): HostScript<S> => ({ name, body: read(dir, `${name}.sh`) });

/** What every host script is sent after: the value rules, the host's system folders and host/scripts/prelude.sh. */
export const preludeScript = rulesShell() + hostPathsShell() + read(__dirname, "prelude.sh");
