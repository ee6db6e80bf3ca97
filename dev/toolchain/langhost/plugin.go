package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// RunPlugin starts a plugin written in Node.js: a source-based component package (a folder
// with PulumiPlugin.yaml `runtime: nodejs`, whose package.json exports the components), as
// `pulumi package add <folder>` and programs in other languages that use it need. It runs
// the SDK's run-plugin script, which serves the exported components as a provider, and
// streams the plugin's output to the engine (which reads the provider's port from it).
func (h *nodeHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetProgram() //nolint:staticcheck // older engines send only this field
	}
	runScript, err := findRunScript(dir)
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return errors.New("node not found on PATH")
	}
	args := append([]string{filepath.Join(filepath.Dir(runScript), "run-plugin"), dir}, req.GetArgs()...)
	cmd := exec.Command(node, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	var send sync.Mutex
	cmd.Stdout = streamWriter(stream, &send, false)
	cmd.Stderr = streamWriter(stream, &send, true)
	if err := cmd.Start(); err != nil {
		return err
	}
	h.track(cmd.Process, true)
	err = cmd.Wait()
	h.track(cmd.Process, false)
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		return err
	}
	send.Lock()
	defer send.Unlock()
	return stream.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

type chunkWriter func(p []byte) (int, error)

func (w chunkWriter) Write(p []byte) (int, error) { return w(p) }

// streamWriter sends what the plugin writes to the engine as it comes, one gRPC message a
// write (the two streams share the gRPC stream, hence the lock).
func streamWriter(stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse], send *sync.Mutex, stderr bool) io.Writer {
	return chunkWriter(func(p []byte) (int, error) {
		chunk := append([]byte(nil), p...)
		msg := &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: chunk}}
		if stderr {
			msg.Output = &pulumirpc.RunPluginResponse_Stderr{Stderr: chunk}
		}
		send.Lock()
		defer send.Unlock()
		if err := stream.Send(msg); err != nil && !strings.Contains(err.Error(), "transport is closing") {
			return 0, err
		}
		return len(p), nil
	})
}
