// The host scripts, read once when the program loads. Providers capture these strings by
// value when Pulumi serializes them, so the provider process never reads files.
import { readFileSync } from "fs";
import { join } from "path";
import { rulesShell } from "./rules";
import { hostPathsShell } from "../../config/hostPaths";
import type { ScriptName } from "./verbs";

const read = (name: string) => readFileSync(join(__dirname, name), "utf8");

/** One host script: its name in the verbs table (components/scripts/verbs.ts) and its text. */
export interface HostScript<S extends ScriptName = ScriptName> {
  name: S;
  body: string;
}

const script = <S extends ScriptName>(name: S): HostScript<S> => ({ name, body: read(`${name}.sh`) });

/** What every host script is sent after: the value rules, the host's system folders and components/scripts/prelude.sh. */
export const preludeScript = rulesShell() + hostPathsShell() + read("prelude.sh");

export const factsScript = script("facts");
export const overlayScript = script("overlay");
export const devContainerScript = script("devcontainer");
export const buildScript = script("build");
export const loadScript = script("load");
export const installScript = script("install");
