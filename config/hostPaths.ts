// Where kmod-fleet keeps things on a host, named in one place. The folders themselves are
// the storage settings (config/resolve.ts); these are the files kmod-fleet puts in them.

/** The developer container image of one OS release, in the storage's cache folder. */
export function developerContainerImagePath(cacheDir: string, osVersion: string): string {
  return `${cacheDir}/${osVersion}/developer_container.bin`;
}
