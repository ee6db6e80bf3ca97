// A changed way of reaching a host (port, key, jump host) must be recorded in state, or a
// later delete would use the old one, but it must never rebuild anything: updates that
// see only this change just store the new connection.
import type { ConnectionSpec } from "../ssh/session";

export function connectionChanged(olds: ConnectionSpec | undefined, news: ConnectionSpec): boolean {
  return JSON.stringify(olds ?? null) !== JSON.stringify(news);
}
