// Every host script, each read from its provider's folder. Scripts serve more than their own
// provider (ModuleBuild runs install.sh's fetch to take an artifact back from a host,
// ModuleInstall build.sh's delete, the preflight build.sh's kconfig-files, the inventory
// install.sh and devcontainer.sh), so they are all named here, once.
import { join } from "path";
import { hostScript } from "../../host/scripts";

export const factsScript = hostScript(join(__dirname, "hostFacts"), "facts");
export const overlayScript = hostScript(join(__dirname, "modulesOverlay"), "overlay");
export const devContainerScript = hostScript(join(__dirname, "developerContainer"), "devcontainer");
export const buildScript = hostScript(join(__dirname, "moduleBuild"), "build");
export const loadScript = hostScript(join(__dirname, "moduleLoad"), "load");
export const installScript = hostScript(join(__dirname, "moduleInstall"), "install");
export const gateScript = hostScript(join(__dirname, "rebootGate"), "gate");
