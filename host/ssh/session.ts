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
  /** Password authentication. */
  password?: string;
  /** ssh-agent socket path. */
  agent?: string;
  /** Pinned keys ("ssh-ed25519 AAAA..." or "SHA256:..."), or "insecure". */
  hostKeys: string[] | "insecure";
  jump?: Omit<ConnectionSpec, "host" | "jump" | "connectTimeoutSeconds" | "connectAttempts" | "stack">;
  connectTimeoutSeconds: number;
  connectAttempts: number;
  /** The Pulumi stack of the run, named when another run finds the host busy. */
  stack?: string;
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
  /**
   * Seconds past timeoutSeconds before the step is abandoned here (default 15): time for
   * the host's own `timeout` to report. The one deadline covers connecting, opening the
   * channel, starting the command and its output.
   */
  graceSeconds?: number;
  /** Most bytes of output (stdout and stderr) the host may send (default 256 MiB). */
  maxOutputBytes?: number;
}

const GRACE_SECONDS = 15;
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

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
    // The jump connection is disposed on every path that does not hand it to `ssh` below.
    let forwardTimer: NodeJS.Timeout | undefined;
    try {
      sock = await new Promise((resolve, reject) => {
        forwardTimer = setTimeout(() => reject(new Error(`the jump host ${describe(j)} did not open a channel to ${spec.address}:${spec.port} within ${spec.connectTimeoutSeconds} s`)), timeoutMs);
        jumpSsh.connection.forwardOut("127.0.0.1", 0, spec.address, spec.port, (err: Error | undefined, stream: any) => (err ? reject(err) : resolve(stream)));
      });
    } catch (e: any) {
      jumpSsh.dispose();
      throw new Error(`through the jump host ${describe(j)}: ${String(e?.message ?? e)}`);
    } finally {
      clearTimeout(forwardTimer);
    }
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
  if (spec.password) config.password = spec.password;
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
          `Refusing to connect. If the host was reinstalled, pin its new key in the host's hostKey (stack config or Fleet args).`,
      );
    }
    if (/authentication methods failed|All configured authentication/i.test(msg)) {
      throw permanent(`authentication failed for ${describe(spec)}: check the host's auth settings (key, agent, password) and that the key is in ${spec.user}'s authorized_keys (or that its sshd allows the password)`);
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

/** Drops a pooled connection that stopped answering, so the next step connects anew. */
function dropSession(spec: ConnectionSpec, ssh: any): void {
  const pool: Map<string, Promise<any>> | undefined = (globalThis as any).__kmodFleetSshPool;
  const key = poolKey(spec);
  const entry = pool?.get(key);
  if (entry) entry.then((s) => s === ssh && pool!.get(key) === entry && pool!.delete(key), () => undefined);
  ssh.dispose();
}

interface ExecOptions {
  /** The one deadline of the step: connect, channel open, exec and output. */
  deadlineSeconds: number;
  maxOutputBytes: number;
  onStdout?: (chunk: string) => void;
  /** What the errors call the step. */
  what: string;
}

/** Runs `command` with `input` on its stdin, within one deadline and an output cap. */
function execBounded(spec: ConnectionSpec, command: string, input: string | Buffer, opts: ExecOptions): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    let ssh: any;
    let stream: any;
    let settled = false;
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let bytes = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, result?: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        stream?.close();
        return reject(err);
      }
      resolve(result!);
    };
    timer = setTimeout(() => {
      const phase = !ssh ? "connecting" : !stream ? "the host did not start the command" : "the command did not finish";
      finish(new Error(`${spec.host}: ${opts.what} timed out after ${opts.deadlineSeconds} s (${phase})`));
      // A connection that leaves a channel request unanswered is wedged: do not reuse it.
      if (ssh && !stream) dropSession(spec, ssh);
    }, opts.deadlineSeconds * 1000);
    const take = (into: Buffer[], d: Buffer) => {
      bytes += d.length;
      if (bytes > opts.maxOutputBytes) {
        finish(new Error(`${spec.host}: ${opts.what}: the host sent more than ${opts.maxOutputBytes} bytes of output; the step was stopped`));
        return false;
      }
      into.push(d);
      return true;
    };
    pooledSession(spec).then(
      (s) => {
        ssh = s;
        if (settled) return;
        s.connection.exec(command, (err: Error | undefined, st: any) => {
          if (err) return finish(new Error(`${spec.host}: cannot start ${opts.what}: ${err.message}`));
          if (settled) return st.close();
          stream = st;
          st.on("data", (d: Buffer) => take(stdout, d) && opts.onStdout?.(d.toString()));
          st.stderr.on("data", (d: Buffer) => take(stderr, d));
          st.on("close", (code: number | null) => finish(undefined, { code: code ?? -1, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }));
          st.end(input);
        });
      },
      (e) => finish(e instanceof Error ? e : new Error(String(e))),
    );
  });
}

/**
 * Runs a bash script on the host as root (through `sudo -n` for other users), bounded by
 * a timeout on both sides: coreutils `timeout` on the host, and one deadline here that
 * covers connecting, opening the channel, starting the command and its output.
 */
export async function runScript(spec: ConnectionSpec, script: string, opts: RunOptions): Promise<RunResult> {
  const env = Object.entries(opts.env ?? {})
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join(" ");
  const asRoot = spec.user === "root" ? "" : "sudo -n ";
  const command = `${asRoot}env ${env} timeout --kill-after=10 ${opts.timeoutSeconds} bash -s`;
  let pending = "";
  const r = await execBounded(spec, command, script, {
    what: "step",
    deadlineSeconds: opts.timeoutSeconds + (opts.graceSeconds ?? GRACE_SECONDS),
    maxOutputBytes: opts.maxOutputBytes ?? MAX_OUTPUT_BYTES,
    onStdout: opts.onLine
      ? (s) => {
          pending += s;
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          lines.forEach((l) => opts.onLine!(l));
        }
      : undefined,
  });
  if (pending && opts.onLine) opts.onLine(pending);
  // 124/137: coreutils timeout killed the script.
  if (r.code === 124 || r.code === 137) throw new Error(`${spec.host}: step timed out after ${opts.timeoutSeconds} s\n${r.stderr.trim()}`);
  return r;
}

/** Writes `data` to `remotePath` on the host as root (mode 0600), creating its folder. */
export async function uploadBytes(spec: ConnectionSpec, data: Buffer, remotePath: string, timeoutSeconds: number): Promise<void> {
  const asRoot = spec.user === "root" ? "" : "sudo -n ";
  const q = shellQuote(remotePath);
  const command = `${asRoot}sh -c ${shellQuote(`umask 077 && mkdir -p "$(dirname ${q})" && cat > ${q}`)}`;
  const r = await execBounded(spec, command, data, { what: `upload of ${remotePath}`, deadlineSeconds: timeoutSeconds, maxOutputBytes: 1024 * 1024 });
  if (r.code !== 0) throw new Error(`${spec.host}: upload of ${remotePath} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Closes the pooled connection to one host (the program does this after probing facts). */
export async function closeSession(spec: ConnectionSpec): Promise<void> {
  const pool: Map<string, Promise<any>> | undefined = (globalThis as any).__kmodFleetSshPool;
  const entry = pool?.get(poolKey(spec));
  if (!entry) return;
  pool!.delete(poolKey(spec));
  await entry.then((ssh) => ssh.dispose(), () => undefined);
}
