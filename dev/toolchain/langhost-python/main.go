// Command pulumi-language-python is a small Python language host for the Pulumi engine,
// written for this project because upstream's (module
// github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not served by the
// Go module proxy these machines reach, like its Node.js host (see toolchain/langhost).
//
// It does what a Python program that uses a component package needs:
//   - Run: `pulumi preview/up/destroy` start run.py (embedded) with the program's Python,
//     which connects the `pulumi` SDK to the engine and runs __main__.py in the stack;
//   - GeneratePackage and Link: `pulumi package add <component package>` generates the
//     Python SDK with Pulumi's own code generator and adds it to the program.
//
// The program's Python is `<virtualenv>/bin/python` when Pulumi.yaml names one
// (`runtime: {name: python, options: {virtualenv: venv}}`), else `python3` from PATH. It
// installs nothing (make the virtualenv and `pip install -r requirements.txt` yourself)
// and announces no plugins in advance: the engine loads the ones the program uses.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

//go:embed run.py
var runScript []byte

// exitBail is run.py's exit code when the engine already reported the error.
const exitBail = 32

func main() {
	// The engine passes optional logging/tracing flags, then its address last.
	var engineAddress string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			engineAddress = a
		}
	}
	host := &pythonHost{engineAddress: engineAddress}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: cannot serve: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-python: stopped serving: %v\n", err)
		os.Exit(1)
	}
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string

	mu       sync.Mutex
	children map[*os.Process]struct{}
}

func (h *pythonHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pythonHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *pythonHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *pythonHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *pythonHost) GetProgramDependencies(
	context.Context, *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

// InstallDependencies installs nothing (see the package comment); it only ends the stream.
func (h *pythonHost) InstallDependencies(
	*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	return nil
}

// interpreter is the Python for a program: its virtualenv's, else python3 from PATH.
func interpreter(info *pulumirpc.ProgramInfo) (string, error) {
	opts := map[string]any{}
	if info.GetOptions() != nil {
		opts = info.GetOptions().AsMap()
	}
	if venv, ok := opts["virtualenv"].(string); ok && venv != "" {
		if !filepath.IsAbs(venv) {
			venv = filepath.Join(info.GetRootDirectory(), venv)
		}
		exe := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(exe); err != nil {
			return "", fmt.Errorf("the virtualenv %s has no bin/python: create it (python3 -m venv %s) and pip install the program's requirements", venv, venv)
		}
		return exe, nil
	}
	return exec.LookPath("python3")
}

func (h *pythonHost) About(_ context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	exe, err := interpreter(req.GetInfo())
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(exe, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running %s --version: %w", exe, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: exe,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "Python "),
		Metadata:   map[string]string{"host": "kmod-fleet toolchain/langhost-python"},
	}, nil
}

func (h *pythonHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.children {
		_ = p.Signal(syscall.SIGINT)
	}
	return &emptypb.Empty{}, nil
}

// runArgs are run.py's flags for one run of the program.
func (h *pythonHost) runArgs(script string, req *pulumirpc.RunRequest) []string {
	args := []string{"-u", script}
	flagIf := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagIf("monitor", req.GetMonitorAddress())
	flagIf("engine", h.engineAddress)
	flagIf("organization", req.GetOrganization())
	flagIf("project", req.GetProject())
	flagIf("stack", req.GetStack())
	flagIf("pwd", req.GetPwd())
	flagIf("root-directory", req.GetInfo().GetRootDirectory())
	flagIf("parallel", strconv.Itoa(int(req.GetParallel())))
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, filepath.Join(req.GetInfo().GetProgramDirectory(), entry))
	return append(args, req.GetArgs()...)
}

func (h *pythonHost) Run(_ context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	exe, err := interpreter(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	// run.py is written next to nothing of the user's: a temporary file of its own.
	script, err := os.CreateTemp("", "pulumi-python-run-*.py")
	if err != nil {
		return nil, err
	}
	defer os.Remove(script.Name())
	if _, err := script.Write(runScript); err != nil {
		return nil, err
	}
	if err := script.Close(); err != nil {
		return nil, err
	}
	env, err := configEnv(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, h.runArgs(script.Name(), req)...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start %s: %v", exe, err)}, nil
	}
	h.track(cmd.Process, true)
	err = cmd.Wait()
	h.track(cmd.Process, false)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitBail:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("running the program: %v", err)}, nil
	}
}

func (h *pythonHost) track(p *os.Process, running bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.children == nil {
		h.children = map[*os.Process]struct{}{}
	}
	if running {
		h.children[p] = struct{}{}
	} else {
		delete(h.children, p)
	}
}
