// What a run does with a host that cannot be probed. Nothing of it changes: its resources
// keep what they had. The other hosts' work goes on, and once every step of theirs is done
// the host's facts resource fails its check with the reason, so that `pulumi preview` and
// `pulumi up` exit non-zero for a pipeline and the reason stands once, at the end of the
// output, under the host's name. `allowUnreachableHosts` makes it a warning instead.
import * as pulumi from "@pulumi/pulumi";

/** The transport's messages start with the host's name; the facts resource names it already. */
export function withoutHostPrefix(host: string, message: string): string {
  return message.startsWith(`${host}: `) ? message.slice(host.length + 2) : message;
}

/** What the facts' check says of an unreachable host (shown as "resource '<host>-facts' has a problem: ..."). */
export function unreachableProblem(reason: string): string {
  return `could not be probed, so nothing of it changed in this run (set allowUnreachableHosts: true to make this a warning): ${reason}`;
}

export function unreachableWarning(host: string, reason: string): string {
  return `${host}: could not be probed, so nothing of it changes in this run: ${reason}`;
}

/**
 * Resolves once the engine is done with every one of these resources: in a preview once
 * each is registered (its step planned), in an update once each has its id (its step ran;
 * one that did not change has its id at once).
 */
export function afterEveryStep(resources: pulumi.CustomResource[]): pulumi.Output<unknown> {
  const done = (r: pulumi.CustomResource) => (pulumi.runtime.isDryRun() ? r.urn : r.id);
  return pulumi.all(resources.map(done));
}
