package main

import (
	"fmt"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// InstallDependencies installs nothing: it checks that @pulumi/pulumi is reachable from the
// folder (its own node_modules or one above, e.g. a component package installed inside a
// project's node_modules), and otherwise says to run `npm install` there. The engine calls
// it before it starts a source-based plugin, and for `pulumi install`.
func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := req.GetDirectory()
	if dir == "" {
		dir = req.GetInfo().GetProgramDirectory()
	}
	if _, err := findRunScript(dir); err != nil {
		return fmt.Errorf("%w (this language host does not install dependencies itself)", err)
	}
	return nil
}
