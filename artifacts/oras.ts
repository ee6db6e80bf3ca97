// The registry store talks to the registry through the `oras` CLI (the CNCF OCI registry
// client): no maintained Node library pushes and pulls OCI artifacts with authentication
// (see README, "A shared artifact store on an OCI registry"). The password goes to oras on
// its standard input (--password-stdin), never on a command line or in the environment,
// and every message oras prints is scrubbed of it before it is shown.
//
// Runs in the provider process too (closure-serialized): packages are require()d inside
// the functions, as in artifacts/store.ts.

export const ORAS_ENV = "KMOD_FLEET_ORAS";

/** Where the store is and how to log in; the password is a secret of the stack config. */
export interface RegistryAccess {
  /** `https://host[:port]` or `http://host[:port]`. */
  url: string;
  /** The repository that holds the artifacts, e.g. `team/kmod-fleet`. */
  repository: string;
  /** The address the hosts pull from, when it is not `url` (build.store.registry.hostUrl). */
  hostUrl?: string;
  username?: string;
  password?: string;
  /** What to tell the user to check when the registry refuses the credentials. */
  credentialsHint?: string;
}

/** What an oras run ended with: its output, or why it failed, in a few words. */
export type OrasResult = { ok: true; stdout: Buffer } | { ok: false; why: "absent" | "damaged" | "other"; message: string };

/** `host[:port]`, as OCI references name a registry. */
export function registryHost(url: string): string {
  return url.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
}

/** The oras binary: $KMOD_FLEET_ORAS, else `oras` on PATH, else the one `npm run oras:toolchain` builds. */
export function orasBinary(env: Record<string, string | undefined> = process.env): string | undefined {
  const fs = require("fs");
  const path = require("path");
  if (env[ORAS_ENV]) return env[ORAS_ENV];
  const candidates = (env.PATH ?? "").split(":").filter((d) => d !== "").map((d) => path.join(d, "oras"));
  candidates.push(path.resolve(".cache/oras/bin/oras"));
  return candidates.find((f) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return fs.statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

/** The message with the password taken out, wherever oras or the registry may have echoed it. */
export function scrub(text: string, password: string | undefined): string {
  return password ? text.split(password).join("***") : text;
}

function classify(stderr: string): "absent" | "damaged" | "other" {
  if (/mismatched digest|digest mismatch|size mismatch/i.test(stderr)) return "damaged";
  if (/: not found|MANIFEST_UNKNOWN|BLOB_UNKNOWN|NAME_UNKNOWN|404/.test(stderr)) return "absent";
  return "other";
}

/** Why a failure that is not "absent" or "damaged" happened, in the user's terms. */
export function explainFailure(access: RegistryAccess, what: string, stderr: string): string {
  const where = `the artifact store at oci://${registryHost(access.url)}/${access.repository}`;
  const said = scrub(stderr.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join("; "), access.password);
  if (/unauthorized|authentication required|401/i.test(stderr)) {
    const who = access.username ? `the credentials of user '${access.username}'` : "anonymous access (no username is set)";
    return `${where}: the registry refused ${who} (unauthorized) to ${what}; ${access.credentialsHint ?? "check the registry username and password"}`;
  }
  if (/denied|forbidden|403/i.test(stderr)) return `${where}: the registry denied ${access.username ? `user '${access.username}'` : "anonymous access"} the right to ${what} (${said})`;
  if (/HTTP response to HTTPS client/i.test(stderr)) return `${where}: the registry speaks plain http; give the url as http://... with insecureHttp: true (loopback or a trusted network only)`;
  if (/connection refused|no such host|i\/o timeout|dial tcp/i.test(stderr)) return `${where}: cannot reach the registry at ${access.url} to ${what} (${said})`;
  return `${where}: cannot ${what}: ${said || "oras failed without a message"}`;
}

const TIMEOUT_MS = 300_000;

/**
 * Runs `oras <args> <login flags>`; the reference args name the registry. The password,
 * if any, is written to oras's stdin and nothing else is. `cwd` is where `oras push`
 * finds its files (it names layers by their relative paths).
 */
export async function runOras(access: RegistryAccess, args: string[], cwd?: string): Promise<OrasResult> {
  const { spawn } = require("child_process");
  const oras = orasBinary();
  if (!oras) {
    throw new Error(
      `the artifact store at oci://${registryHost(access.url)}/${access.repository} needs the oras CLI (the OCI registry client, https://oras.land): ` +
        `it is not on PATH; install it, or run \`npm run oras:toolchain\` in a kmod-fleet checkout (builds .cache/oras/bin/oras from Go modules), or set ${ORAS_ENV} to its path`,
    );
  }
  const login = access.username !== undefined ? ["--username", access.username, "--password-stdin"] : [];
  const plain = access.url.startsWith("http://") ? ["--plain-http"] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(oras, [...args, ...plain, ...login], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e: any) => reject(new Error(`cannot run oras (${oras}): ${e?.code ?? e}`)));
    child.on("close", (code: number | null) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true, stdout: Buffer.concat(out) });
      else resolve({ ok: false, why: classify(err), message: code === null ? `oras took more than ${TIMEOUT_MS / 1000} s` : err });
    });
    child.stdin.on("error", () => {}); // oras may exit before reading it
    child.stdin.end(access.username !== undefined ? (access.password ?? "") : "");
  });
}
