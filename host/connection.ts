// Builds each host's ConnectionSpec from the resolved fleet: the private key and its
// passphrase (or a password) come from the Fleet's args (as Inputs), from secret stack config, or from a key
// file read here; each is made a secret at once, so they stay Pulumi secrets all the way
// into the providers' encrypted state.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedAuth, ResolvedHost } from "../config/resolve";
import type { ConnectionSpec } from "./ssh/session";

/** Where secrets come from: the stack's config in the program, a map in tests. */
export type SecretSource = (configKey: string) => pulumi.Output<string>;

interface AuthValues {
  privateKey?: pulumi.Output<string>;
  passphrase?: pulumi.Output<string>;
  password?: pulumi.Output<string>;
  agent?: string;
}

/**
 * `auth` is the planned one: it says which way the host logs in, and holds config key names
 * and file paths exactly. `live` holds the key and passphrase themselves when the args give
 * them (known once their Inputs are).
 */
function authValues(auth: ResolvedAuth, live: pulumi.Output<ResolvedAuth | undefined>, secret: SecretSource, where: string): AuthValues {
  const passphrase = auth.passphraseConfig
    ? secret(auth.passphraseConfig)
    : auth.passphrase !== undefined
      ? pulumi.secret(live.apply((a) => a?.passphrase ?? ""))
      : undefined;
  if (auth.passwordConfig) return { password: secret(auth.passwordConfig) };
  if (auth.password !== undefined) return { password: pulumi.secret(live.apply((a) => a?.password ?? "")) };
  if (auth.privateKey !== undefined) return { privateKey: pulumi.secret(live.apply((a) => a?.privateKey ?? "")), passphrase };
  if (auth.privateKeyConfig) return { privateKey: secret(auth.privateKeyConfig), passphrase };
  if (auth.keyFile) {
    let key: string;
    try {
      key = fs.readFileSync(auth.keyFile, "utf8");
    } catch (e: any) {
      throw new Error(`${where}.auth.keyFile: cannot read ${auth.keyFile}: ${e.code ?? e.message}`);
    }
    return { privateKey: pulumi.secret(key), passphrase };
  }
  const agent = auth.agent === true ? process.env.SSH_AUTH_SOCK : auth.agent;
  if (!agent) throw new Error(`${where}.auth.agent: true, but SSH_AUTH_SOCK is not set; start ssh-agent or give the socket path`);
  return { agent };
}

/** One loud line per host (and jump host) whose key is not verified; the program logs them on every run. */
export function hostKeyWarnings(host: ResolvedHost): string[] {
  const warn = (what: string, where: string) =>
    `${host.name}: HOST KEY VERIFICATION IS OFF for ${what} (insecureIgnoreHostKey: true): anyone on the path to ${where} can impersonate it and receive root commands; pin its key with hostKey`;
  const out: string[] = [];
  if (host.hostKeys === "insecure") out.push(warn("this host", `${host.address}:${host.port}`));
  if (host.jump?.hostKeys === "insecure") out.push(warn("its jump host", `${host.jump.address}:${host.jump.port}`));
  return out;
}

/**
 * `planned` is the host as planned when the program started (its connection fields may be
 * placeholders), `live` the same host with the values of its Inputs: the spec is made of
 * `live`'s values, and is unknown while they are. Config keys, key files and the agent
 * socket are looked up at once, so a missing one fails before any resource exists.
 */
export function connectionFor(planned: ResolvedHost, live: pulumi.Output<ResolvedHost>, secret: SecretSource, where: string): pulumi.Output<ConnectionSpec> {
  const a = authValues(planned.auth, live.apply((h) => h.auth), secret, where);
  const j = planned.jump ? authValues(planned.jump.auth, live.apply((h) => h.jump?.auth), secret, `${where}.jump`) : undefined;
  const spec = pulumi
    .all([live, a.privateKey, a.passphrase, a.password, j?.privateKey, j?.passphrase, j?.password])
    .apply(([host, privateKey, passphrase, password, jumpKey, jumpPassphrase, jumpPassword]) => {
      const spec: ConnectionSpec = {
        host: host.name,
        address: host.address,
        port: host.port,
        user: host.user,
        hostKeys: host.hostKeys,
        connectTimeoutSeconds: host.connectTimeoutSeconds,
        connectAttempts: host.connectAttempts,
        stack: `${pulumi.getProject()}/${pulumi.getStack()}`,
        ...(privateKey ? { privateKey } : {}),
        ...(passphrase ? { passphrase } : {}),
        ...(password ? { password } : {}),
        ...(a.agent ? { agent: a.agent } : {}),
      };
      if (host.jump) {
        spec.jump = {
          address: host.jump.address,
          port: host.jump.port,
          user: host.jump.user,
          hostKeys: host.jump.hostKeys,
          ...(jumpKey ? { privateKey: jumpKey } : {}),
          ...(jumpPassphrase ? { passphrase: jumpPassphrase } : {}),
          ...(jumpPassword ? { password: jumpPassword } : {}),
          ...(j?.agent ? { agent: j.agent } : {}),
        };
      }
      return spec;
    });
  return pulumi.secret(spec);
}
