// Progress lines ("h1: building kmod-pair for 6.1.0-50-cloud-amd64") from inside the
// dynamic-provider process, where the SDK is not told the engine's address by default:
// the process receives it as its first argument. Without an engine (unit tests) the SDK
// prints to stdout instead.
export function progress(host: string, message: string): void {
  const line = `${host}: ${message}`;
  try {
    const options = require("@pulumi/pulumi/runtime/state").getStore().settings.options;
    const arg = process.argv[2] ?? "";
    if (!options.engineAddr && /^[\w.[\]-]*:\d+$/.test(arg)) options.engineAddr = arg;
    require("@pulumi/pulumi").log.info(line);
  } catch {
    console.error(line);
  }
}
