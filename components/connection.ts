// Builds each host's ConnectionSpec from the resolved config: the private key and its
// passphrase come from secret stack config (or a key file, read here and made secret),
// so they stay Pulumi secrets all the way into the providers' encrypted state.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import type { AuthConfig } from "../config/schema";
import type { ResolvedHost } from "../config/resolve";
import type { ConnectionSpec } from "../ssh/session";

/** Where secrets come from: the stack's config in the program, a map in tests. */
export type SecretSource = (configKey: string) => pulumi.Output<string>;

interface AuthValues {
  privateKey?: pulumi.Output<string>;
  passphrase?: pulumi.Output<string>;
  agent?: string;
}

function authValues(auth: AuthConfig, secret: SecretSource, where: string): AuthValues {
  const passphrase = auth.passphraseConfig ? secret(auth.passphraseConfig) : undefined;
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

export function connectionFor(host: ResolvedHost, secret: SecretSource, where: string): pulumi.Output<ConnectionSpec> {
  const a = authValues(host.auth, secret, where);
  const j = host.jump ? authValues(host.jump.auth, secret, `${where}.jump`) : undefined;
  return pulumi
    .all([a.privateKey, a.passphrase, j?.privateKey, j?.passphrase])
    .apply(([privateKey, passphrase, jumpKey, jumpPassphrase]) => {
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
          ...(j?.agent ? { agent: j.agent } : {}),
        };
      }
      return spec;
    });
}
