// The host scripts, read once when the program loads. Providers capture these strings by
// value when Pulumi serializes them, so the provider process never reads files.
import { readFileSync } from "fs";
import { join } from "path";

const read = (name: string) => readFileSync(join(__dirname, name), "utf8");

export const factsScript = read("facts.sh");
export const overlayScript = read("overlay.sh");
export const devContainerScript = read("devcontainer.sh");
export const buildScript = read("build.sh");
export const loadScript = read("load.sh");
export const installScript = read("install.sh");
