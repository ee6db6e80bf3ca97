// Read by Pulumi's component analyzer (never run): it derives the package schema, and from
// it the other languages' SDKs, from the TypeScript types of Fleet's args and outputs,
// here from the compiled declarations in ../dist.
export { Fleet } from "../dist/library";
