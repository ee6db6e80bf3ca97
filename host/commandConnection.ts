// The Fleet takes a host's connection in the shape of @pulumi/command's
// `remote.ConnectionArgs` too, so that a program that already reaches its machines with
// `remote.Command` hands the same object to kmod-fleet:
//
//   @pulumi/command              kmod-fleet
//   host                         address
//   port, user                   port, user
//   privateKey                   auth.privateKey
//   privateKeyPassword           auth.passphrase
//   password                     auth.password
//   agentSocketPath              auth.agentSocketPath
//   proxy (a connection)         jump
//   dialErrorLimit               connectAttempts
//   perDialTimeout (seconds)     connectTimeoutSeconds
//   hostKey                      hostKey
//
// This file moves those fields to kmod-fleet's own (keeping each value, Outputs included,
// as it is), and gives the union-free forms their plain meaning: `auth.agent: true` or an
// `auth.agentSocketPath`, `insecureIgnoreHostKey: false` (not set), and a `hostKey` with
// several keys on separate lines (as ssh-keyscan prints them).

/** @pulumi/command's field -> where kmod-fleet has it (a path under the connection). */
const MOVES: [string, string[]][] = [
  ["host", ["address"]],
  ["privateKey", ["auth", "privateKey"]],
  ["privateKeyPassword", ["auth", "passphrase"]],
  ["password", ["auth", "password"]],
  ["agentSocketPath", ["auth", "agentSocketPath"]],
  ["proxy", ["jump"]],
  ["dialErrorLimit", ["connectAttempts"]],
  ["perDialTimeout", ["connectTimeoutSeconds"]],
];

type Fields = Record<string, unknown>;

/** An object literal (not an Output, a Promise, an array or a class instance). */
export function isPlainObject(v: unknown): v is Fields {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `auth` in kmod-fleet's own form: the agent socket's path is `agent`'s value. */
function normalizeAuth(auth: Fields, at: string, problems: string[]): Fields {
  const { agentSocketPath, ...rest } = auth;
  if (agentSocketPath === undefined) return rest.agent === false ? withoutKey(rest, "agent") : rest;
  if (rest.agent !== undefined && rest.agent !== true && rest.agent !== false) problems.push(`${at}.agentSocketPath: give the socket's path in agentSocketPath or in agent, not both`);
  return { ...rest, agent: agentSocketPath };
}

function withoutKey(o: Fields, key: string): Fields {
  const { [key]: _dropped, ...rest } = o;
  return rest;
}

/** Several keys, one per line (plain strings only; an Output is split when its value is checked). */
export function splitHostKeys(v: unknown): unknown {
  if (typeof v !== "string" || !v.includes("\n")) return v;
  const keys = v.split("\n").map((k) => k.trim()).filter((k) => k !== "");
  return keys.length === 1 ? keys[0] : keys;
}

/**
 * One connection (a host, the defaults, or a jump host) in kmod-fleet's fields. Problems
 * (a field given in both shapes) are added to `problems`, by path.
 */
export function normalizeConnection(c: Fields, at: string, problems: string[]): Fields {
  let out: Fields = { ...c };
  for (const [theirs, ours] of MOVES) {
    if (out[theirs] === undefined) continue;
    const value = out[theirs];
    out = withoutKey(out, theirs);
    const holder = ours.length === 1 ? out : ((out[ours[0]] = isPlainObject(out[ours[0]]) ? { ...(out[ours[0]] as Fields) } : {}) as Fields);
    const key = ours[ours.length - 1];
    if (holder[key] !== undefined) problems.push(`${at}.${theirs}: the same as ${ours.join(".")}; give one of them`);
    else holder[key] = value;
  }
  if (isPlainObject(out.auth)) out.auth = normalizeAuth(out.auth, `${at}.auth`, problems);
  if (isPlainObject(out.jump)) out.jump = normalizeConnection(out.jump, `${at}.jump`, problems);
  if (out.insecureIgnoreHostKey === false) out = withoutKey(out, "insecureIgnoreHostKey");
  if (out.hostKey !== undefined) out.hostKey = splitHostKeys(out.hostKey);
  return out;
}

/** The Fleet's args with every connection (hosts, defaults, jump hosts) in kmod-fleet's fields. */
export function normalizeConnections<A extends { hosts?: unknown; defaults?: unknown }>(args: A, problems: string[]): A {
  const hosts = Array.isArray(args.hosts) ? args.hosts.map((h, i) => (isPlainObject(h) ? normalizeConnection(h, `hosts[${i}]`, problems) : h)) : args.hosts;
  const defaults = isPlainObject(args.defaults) ? normalizeConnection(args.defaults, "defaults", problems) : args.defaults;
  return { ...args, hosts, ...(args.defaults !== undefined ? { defaults } : {}) };
}
