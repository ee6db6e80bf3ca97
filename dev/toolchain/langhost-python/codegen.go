package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// GeneratePackage writes the Python SDK of a package schema (what `pulumi package add`
// got from the component package) into req.Directory, with Pulumi's own generator.
func (h *pythonHost) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("reading the package schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("the package schema is not valid: %s", diags.Error())
	}
	files, err := python.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), loader)
	if err != nil {
		return nil, err
	}
	for name, content := range files {
		path := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{}, nil
}

// Link adds each generated SDK to the program's requirements.txt (as its path relative to
// the program), so that `pip install -r requirements.txt` installs it.
func (h *pythonHost) Link(_ context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	root := req.GetInfo().GetRootDirectory()
	reqFile := filepath.Join(root, "requirements.txt")
	existing, err := os.ReadFile(reqFile)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(existing), "\n"), "\n")
	var imports []string
	for _, dep := range req.GetPackages() {
		rel, err := filepath.Rel(root, dep.GetPath())
		if err != nil {
			rel = dep.GetPath()
		}
		if !filepath.IsAbs(rel) && !strings.HasPrefix(rel, ".") {
			rel = "./" + rel
		}
		if !contains(lines, rel) {
			lines = append(lines, rel)
		}
		name := dep.GetPackage().GetName()
		imports = append(imports, fmt.Sprintf("import %s", python.PyPack("", name)))
	}
	text := strings.TrimLeft(strings.Join(lines, "\n"), "\n") + "\n"
	if err := os.WriteFile(reqFile, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "pip install -r requirements.txt, then in your program:\n  " + strings.Join(imports, "\n  "),
	}, nil
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}
