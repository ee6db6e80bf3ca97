// The SSH transport of kmod-fleet: connect with a pinned host key, bounded waits and
// retries, reuse one connection per host, run scripts as root with a timeout.
//
// Dynamic providers serialize the functions they call (pulumi's closure serialization),
// so everything here is plain functions with no module-level state and no top-level
// imports: packages are require()d inside the functions, where serialization turns them
// into require calls in the provider process. The connection pool lives on globalThis so
// that every resource of a run shares it.

/** What a resource needs to reach its host. Secrets (key, passphrase) are Pulumi secrets upstream. */
export interface ConnectionSpec {
  /** The fleet's name for the host; every error names it. */
  host: string;
  address: string;
  port: number;
  user: string;
  privateKey?: string;
  passphrase?: string;
  /** ssh-agent socket path. */
  agent?: string;
  /** Pinned keys ("ssh-ed25519 AAAA..." or "SHA256:..."), or "insecure". */
  hostKeys: string[] | "insecure";
  jump?: Omit<ConnectionSpec, "host" | "jump" | "connectTimeoutSeconds" | "connectAttempts">;
  connectTimeoutSeconds: number;
  connectAttempts: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Environment for the script (values are shell-quoted). */
  env?: Record<string, string>;
  /** Bound on the whole script. */
  timeoutSeconds: number;
  /** Called with each complete line the script prints on stdout (progress). */
  onLine?: (line: string) => void;
}

/** SHA256 fingerprint of a key blob, as OpenSSH prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  const crypto = require("crypto");
  return "SHA256:" + crypto.createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "");
}

/** Does the key the server presented match one of the pinned ones? */
export function hostKeyMatches(presented: Buffer, pinned: string[]): boolean {
  const fp = fingerprintOf(presented);
  return pinned.some((p) => {
    const pin = p.trim();
    if (pin.startsWith("SHA256:")) return pin.replace(/=+$/, "") === fp;
    const blob = pin.split(/\s+/)[1];
    return blob !== undefined && Buffer.from(blob, "base64").equals(presented);
  });
}

function describe(c: { user: string; address: string; port: number }): string {
  return `${c.user}@${c.address}:${c.port}`;
}

/** Single quotes for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** An error that retrying cannot fix (wrong host key, rejected credentials). */
function permanent(message: string): Error {
  return Object.assign(new Error(message), { permanent: true });
}

async function connectOnce(spec: ConnectionSpec): Promise<any> {
  const { NodeSSH } = require("node-ssh");
  const timeoutMs = spec.connectTimeoutSeconds * 1000;
  let sock: any;
  let jumpSsh: any;
  if (spec.jump) {
    const j = spec.jump;
    jumpSsh = await connectOnce({ ...j, host: `${spec.host} (jump host)`, connectTimeoutSeconds: spec.connectTimeoutSeconds, connectAttempts: 1 });
    sock = await new Promise((resolve, reject) =>
      jumpSsh.connection.forwardOut("127.0.0.1", 0, spec.address, spec.port, (err: Error | undefined, stream: any) => (err ? reject(err) : resolve(stream))),
    );
  }
  let presented: Buffer | undefined;
  const ssh = new NodeSSH();
  const config: Record<string, unknown> = {
    host: spec.address,
    port: spec.port,
    username: spec.user,
    readyTimeout: timeoutMs,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    sock,
    hostVerifier: (key: Buffer) => {
      presented = key;
      return spec.hostKeys === "insecure" || hostKeyMatches(key, spec.hostKeys);
    },
  };
  if (spec.privateKey) config.privateKey = spec.privateKey;
  if (spec.passphrase) config.passphrase = spec.passphrase;
  if (spec.agent) config.agent = spec.agent;
  // readyTimeout covers the handshake; this guard also covers a TCP connect that never completes.
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ssh.connect(config),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${spec.connectTimeoutSeconds} s`)), timeoutMs + 2000);
      }),
    ]);
  } catch (e: any) {
    ssh.dispose();
    jumpSsh?.dispose();
    const msg = String(e?.message ?? e);
    if (presented && spec.hostKeys !== "insecure" && !hostKeyMatches(presented, spec.hostKeys)) {
      throw permanent(
        `host key mismatch: ${describe(spec)} presented ${fingerprintOf(presented)}, but the pinned key is ${spec.hostKeys.map((k) => (k.startsWith("SHA256:") ? k : fingerprintOf(Buffer.from(k.split(/\s+/)[1] ?? "", "base64")))).join(" or ")}. ` +
          `Refusing to connect. If the host was reinstalled, update its hostKey in the stack config.`,
      );
    }
    if (/authentication methods failed|All configured authentication/i.test(msg)) {
      throw permanent(`authentication failed for ${describe(spec)}: check the host's auth settings (key, agent) and that the key is in ${spec.user}'s authorized_keys`);
    }
    throw new Error(msg);
  } finally {
    clearTimeout(timer);
  }
  if (jumpSsh) ssh.connection.on("close", () => jumpSsh.dispose());
  return ssh;
}

/**
 * Connects with retries and backoff. Fails within about
 * attempts * (connectTimeoutSeconds + 2) + 7 seconds, naming the host.
 */
export async function connect(spec: ConnectionSpec): Promise<any> {
  const started = Date.now();
  let last = "";
  for (let attempt = 1; attempt <= spec.connectAttempts; attempt++) {
    try {
      return await connectOnce(spec);
    } catch (e: any) {
      if (e?.permanent) throw new Error(`${spec.host}: ${e.message}`);
      last = String(e?.message ?? e);
      if (attempt < spec.connectAttempts) await sleep(1000 * 2 ** (attempt - 1));
    }
  }
  const secs = Math.round((Date.now() - started) / 1000);
  throw new Error(`${spec.host}: cannot reach ${describe(spec)} after ${spec.connectAttempts} attempt(s) in ${secs} s: ${last}`);
}

function poolKey(spec: ConnectionSpec): string {
  return [spec.host, describe(spec), spec.jump ? describe(spec.jump) : ""].join("|");
}

/** One shared connection per host for the life of the process (the provider process of a run). */
export async function pooledSession(spec: ConnectionSpec): Promise<any> {
  const g = globalThis as any;
  const pool: Map<string, Promise<any>> = (g.__kmodFleetSshPool ??= new Map());
  const key = poolKey(spec);
  let entry = pool.get(key);
  if (!entry) {
    entry = connect(spec);
    pool.set(key, entry);
    entry.then(
      (ssh) => ssh.connection.on("close", () => pool.get(key) === entry && pool.delete(key)),
      () => pool.delete(key),
    );
  }
  return entry;
}

/** Closes every pooled connection (tests; the provider process just exits). */
export function closeAllSessions(): void {
  const pool: Map<string, Promise<any>> | undefined = (globalThis as any).__kmodFleetSshPool;
  if (!pool) return;
  for (const p of pool.values()) p.then((ssh) => ssh.dispose(), () => undefined);
  pool.clear();
}

/**
 * Runs a bash script on the host as root (through `sudo -n` for other users), bounded by
 * a timeout on both sides: coreutils `timeout` on the host, and closing the channel here.
 */
export async function runScript(spec: ConnectionSpec, script: string, opts: RunOptions): Promise<RunResult> {
  const ssh = await pooledSession(spec);
  const env = Object.entries(opts.env ?? {})
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(" ");
  const asRoot = spec.user === "root" ? "" : "sudo -n ";
  const command = `${asRoot}env ${env} timeout --kill-after=10 ${opts.timeoutSeconds} bash -s`;
  return new Promise<RunResult>((resolve, reject) => {
    ssh.connection.exec(command, (err: Error | undefined, stream: any) => {
      if (err) return reject(new Error(`${spec.host}: cannot start a command: ${err.message}`));
      let stdout = "";
      let stderr = "";
      let pending = "";
      const timer = setTimeout(() => {
        stream.close();
        reject(new Error(`${spec.host}: step timed out after ${opts.timeoutSeconds} s`));
      }, (opts.timeoutSeconds + 15) * 1000);
      stream.on("data", (d: Buffer) => {
        const s = d.toString();
        stdout += s;
        if (opts.onLine) {
          pending += s;
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          lines.forEach((l) => opts.onLine!(l));
        }
      });
      stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      stream.on("close", (code: number | null) => {
        clearTimeout(timer);
        if (pending && opts.onLine) opts.onLine(pending);
        // 124/137: coreutils timeout killed the script.
        if (code === 124 || code === 137) {
          return reject(new Error(`${spec.host}: step timed out after ${opts.timeoutSeconds} s\n${stderr.trim()}`));
        }
        resolve({ code: code ?? -1, stdout, stderr });
      });
      stream.end(script);
    });
  });
}

/** Writes `data` to `remotePath` on the host as root (mode 0600), creating its folder. */
export async function uploadBytes(spec: ConnectionSpec, data: Buffer, remotePath: string, timeoutSeconds: number): Promise<void> {
  const ssh = await pooledSession(spec);
  const asRoot = spec.user === "root" ? "" : "sudo -n ";
  const q = shellQuote(remotePath);
  const command = `${asRoot}sh -c ${shellQuote(`umask 077 && mkdir -p "$(dirname ${q})" && cat > ${q}`)}`;
  await new Promise<void>((resolve, reject) => {
    ssh.connection.exec(command, (err: Error | undefined, stream: any) => {
      if (err) return reject(new Error(`${spec.host}: cannot upload ${remotePath}: ${err.message}`));
      let stderr = "";
      const timer = setTimeout(() => {
        stream.close();
        reject(new Error(`${spec.host}: upload of ${remotePath} timed out after ${timeoutSeconds} s`));
      }, timeoutSeconds * 1000);
      stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      stream.on("data", () => undefined);
      stream.on("close", (code: number | null) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`${spec.host}: upload of ${remotePath} failed (exit ${code}): ${stderr.trim()}`));
      });
      stream.end(data);
    });
  });
}

/** Closes the pooled connection to one host (the program does this after probing facts). */
export async function closeSession(spec: ConnectionSpec): Promise<void> {
  const pool: Map<string, Promise<any>> | undefined = (globalThis as any).__kmodFleetSshPool;
  const entry = pool?.get(poolKey(spec));
  if (!entry) return;
  pool!.delete(poolKey(spec));
  await entry.then((ssh) => ssh.dispose(), () => undefined);
}
