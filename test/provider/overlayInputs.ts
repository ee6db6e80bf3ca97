// The modules overlay's inputs for the provider tests: a throwaway root below the test
// sshd's folder, with lib/modules as the mount point and opt/modules as the upper dir.
import type { ModulesOverlayInputs } from "../../components/providers/modulesOverlay/modulesOverlay";
import type { ConnectionSpec } from "../../host/ssh/session";

export function overlayInputs(connection: ConnectionSpec, root: string, over: Partial<ModulesOverlayInputs> = {}): ModulesOverlayInputs {
  return {
    connection,
    modulesDir: `${root}/lib/modules`,
    upperDir: `${root}/opt/modules`,
    workDir: `${root}/opt/modules.wd`,
    persistence: "mount-unit",
    commandTimeoutSeconds: 30,
    ...over,
  };
}
