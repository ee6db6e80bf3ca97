# Offline environment for the Pulumi CLI in this project. Source it from bash or zsh:
#   source dev/toolchain/env.sh && npx pulumi preview
# dev/toolchain/env.ts exports the same values for TypeScript (tests, demo).
# A variable already set in your environment wins, except PATH (the toolchain is prepended).

KMOD_PULUMI_VERSION=3.250.0   # = dev/toolchain/go.mod pkg/v3 = devDependency "pulumi" = env.ts
if [ -n "${BASH_SOURCE:-}" ]; then
  KMOD_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
else # zsh
  KMOD_REPO="$(cd "$(dirname "${(%):-%x}")/../.." && pwd)"
fi
KMOD_PULUMI_CACHE="$KMOD_REPO/.cache/pulumi"
KMOD_PULUMI_BUILD_BIN="$KMOD_PULUMI_CACHE/bin"

export PULUMI_HOME="${PULUMI_HOME:-$KMOD_PULUMI_CACHE/home}"
KMOD_PULUMI_SEED_BIN="$PULUMI_HOME/versions/$KMOD_PULUMI_VERSION/bin"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# State in <repo>/.pulumi (gitignored), as Pulumi.yaml's backend.url says for this project.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$KMOD_REPO/.pulumi}"
# Only for the throwaway test and demo stacks: set your own for anything real.
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  export PULUMI_CONFIG_PASSPHRASE="kmod-fleet-insecure-test-passphrase"
fi
case ":$PATH:" in
  *":$KMOD_PULUMI_SEED_BIN:"*) ;;
  *) export PATH="$KMOD_PULUMI_SEED_BIN:$PATH" ;;
esac
export KMOD_PULUMI_VERSION KMOD_REPO KMOD_PULUMI_CACHE KMOD_PULUMI_BUILD_BIN KMOD_PULUMI_SEED_BIN
