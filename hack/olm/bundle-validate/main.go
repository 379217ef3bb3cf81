// bundle-validate runs operator-framework/api's bundle validators on a registry+v1 bundle
// directory (the one holding manifests/ and metadata/) and prints every result, tagged with the
// name of the validator that produced it. It exits 1 on any error OR warning (the project's bar
// is zero of both), 2 when the bundle cannot be loaded or the arguments are wrong.
//
//	bundle-validate [--optional-values k8s-version=1.34] [--validators a,b] [-o text|json] <bundle dir>
//	bundle-validate --list
//
// The default set is what `operator-sdk bundle validate --select-optional suite=operatorframework`
// runs: the default validators (csv, crd, bundle) plus operatorhubv2, capabilities, categories,
// alpha-deprecated-apis and good-practices; plus "checklist", the project's own checks for what
// those miss (checklist.go). Optional values: k8s-version=<x.y> (removed-API checks) and
// dockerfile=<path to bundle.Dockerfile> (checklist: FROM scratch, LABELs mirror annotations.yaml).
// Built by ../build-tools.sh.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	apimanifests "github.com/operator-framework/api/pkg/manifests"
	apivalidation "github.com/operator-framework/api/pkg/validation"
	apierrors "github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
)

type namedValidator struct {
	name string
	v    interfaces.Validator
	desc string
}

// Names follow `operator-sdk bundle validate --list-optional` where it has one.
var known = []namedValidator{
	{"csv", apivalidation.ClusterServiceVersionValidator, "default: ClusterServiceVersion fields, install modes, alm-examples"},
	{"crd", apivalidation.CustomResourceDefinitionValidator, "default: CustomResourceDefinition schemas"},
	{"bundle", apivalidation.BundleValidator, "default: owned CRDs match the bundle, service accounts, size, name, relatedImages"},
	{"operatorhubv2", apivalidation.OperatorHubV2Validator, "OperatorHub.io metadata (provider, maintainers, links, version, icon, minKubeVersion, removed APIs)"},
	{"capabilities", apivalidation.StandardCapabilitiesValidator, "capabilities annotation is a standard level"},
	{"categories", apivalidation.StandardCategoriesValidator, "categories annotation uses standard categories ($OPERATOR_BUNDLE_CATEGORIES overrides)"},
	{"alpha-deprecated-apis", apivalidation.AlphaDeprecatedAPIsValidator, "removed Kubernetes APIs (uses k8s-version / minKubeVersion)"},
	{"good-practices", apivalidation.GoodPracticesValidator, "resource requests, channel names, CRD descriptions, CRD RBAC, CSV name"},
	// Ours, not upstream: see checklist.go.
	{"checklist", nil, "project checklist (DESIGN.md §5) for what upstream does not check: description, maintainers, annotations, digest-pinned relatedImages ..."},
	// Not in the default set; select with --validators.
	{"object", apivalidation.ObjectValidator, "(extra) PDB, PriorityClass and RBAC objects shipped in manifests/"},
	{"multiarch", apivalidation.MultipleArchitecturesValidator, "(extra) multi-arch labels vs image manifests (needs a registry: not useful offline)"},
	{"operatorhub", apivalidation.OperatorHubValidator, "(extra, deprecated upstream) old OperatorHub.io validator"},
}

const defaultSet = "csv,crd,bundle,operatorhubv2,capabilities,categories,alpha-deprecated-apis,good-practices,checklist"

type kvFlag map[string]string

func (m kvFlag) String() string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (m kvFlag) Set(s string) error {
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", kv)
		}
		m[k] = v
	}
	return nil
}

// finding is one error or warning, with the validator that raised it.
type finding struct {
	Validator string `json:"validator"`
	Level     string `json:"level"` // "error" or "warning"
	Object    string `json:"object"`
	Type      string `json:"type"`
	Message   string `json:"message"`
}

type count struct {
	Validator string `json:"validator"`
	Errors    int    `json:"errors"`
	Warnings  int    `json:"warnings"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bundle-validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	optional := kvFlag{}
	fs.Var(optional, "optional-values", "key=value pairs for the validators, comma separated or repeated (e.g. k8s-version=1.34)")
	selected := fs.String("validators", defaultSet, "comma-separated validators to run (see --list)")
	output := fs.String("o", "text", "output: text or json")
	list := fs.Bool("list", false, "list the validators and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bundle-validate [flags] <bundle dir>\n\nExit: 0 clean, 1 any error or warning, 2 usage/load failure.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDEFAULT\tDESCRIPTION")
		for _, k := range known {
			fmt.Fprintf(tw, "%s\t%v\t%s\n", k.name, strings.Contains(","+defaultSet+",", ","+k.name+","), k.desc)
		}
		tw.Flush()
		return 0
	}
	if fs.NArg() != 1 || (*output != "text" && *output != "json") {
		fs.Usage()
		return 2
	}
	dir := fs.Arg(0)
	// optional value dockerfile=<path>: also check bundle.Dockerfile against annotations.yaml
	// (checklist); k8s-version=<x.y>: the Kubernetes version to check removed APIs against.

	var vals []namedValidator
	for _, name := range strings.Split(*selected, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, k := range known {
			if k.name == name {
				if k.name == "checklist" {
					k.v = checklistValidator(dir)
				}
				vals = append(vals, k)
				found = true
			}
		}
		if !found {
			fmt.Fprintf(stderr, "bundle-validate: unknown validator %q (see --list)\n", name)
			return 2
		}
	}

	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "bundle-validate: %s is not a directory\n", dir)
		return 2
	}
	// The bundle root (not manifests/): the loader then also reads metadata/annotations.yaml
	// (package, channels, default channel) and sizes the whole bundle, as OLM's unpacker does.
	bundle, err := apimanifests.GetBundleFromDir(dir)
	if err != nil {
		fmt.Fprintf(stderr, "bundle-validate: cannot load bundle %s: %v\n", dir, err)
		return 2
	}

	objs := bundle.ObjectsToValidate()
	// The validators find optional values as a map[string]string among the objects.
	objs = append(objs, map[string]string(optional))

	var findings []finding
	var counts []count
	for _, nv := range vals {
		results, panicked := validate(nv.v, objs)
		c := count{Validator: nv.name}
		if panicked != nil {
			c.Errors++
			findings = append(findings, finding{nv.name, "error", bundle.Name, "ValidatorPanic",
				fmt.Sprintf("validator panicked (malformed input?): %v", panicked)})
		}
		for _, r := range results {
			for _, e := range r.Errors {
				c.Errors++
				findings = append(findings, toFinding(nv.name, "error", r.Name, e))
			}
			for _, w := range r.Warnings {
				c.Warnings++
				findings = append(findings, toFinding(nv.name, "warning", r.Name, w))
			}
		}
		counts = append(counts, c)
	}

	totalE, totalW := 0, 0
	for _, c := range counts {
		totalE += c.Errors
		totalW += c.Warnings
	}

	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{
			"bundle": bundle.Name, "dir": dir, "optionalValues": map[string]string(optional),
			"findings": findings, "counts": counts, "errors": totalE, "warnings": totalW,
			"passed": totalE == 0 && totalW == 0,
		})
	} else {
		fmt.Fprintf(stdout, "bundle %s (%s), package %q, channels %v, default channel %q\n",
			bundle.Name, dir, bundle.Package, bundle.Channels, bundle.DefaultChannel)
		if len(optional) > 0 {
			fmt.Fprintf(stdout, "optional values: %s\n", optional.String())
		}
		for _, f := range findings {
			lvl := "ERROR"
			if f.Level == "warning" {
				lvl = "WARN "
			}
			fmt.Fprintf(stdout, "%s [%s] %s: %s\n", lvl, f.Validator, f.Object, f.Message)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nVALIDATOR\tERRORS\tWARNINGS")
		for _, c := range counts {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", c.Validator, c.Errors, c.Warnings)
		}
		tw.Flush()
		verdict := "PASS"
		if totalE+totalW > 0 {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "bundle-validate: %s: %d error(s), %d warning(s)\n", verdict, totalE, totalW)
	}
	if totalE+totalW > 0 {
		return 1
	}
	return 0
}

// validate runs one validator; some upstream validators index into slices without checking
// (e.g. `icon: []`), so a panic is turned into an error finding instead of a crash.
func validate(v interfaces.Validator, objs []any) (results []apierrors.ManifestResult, panicked any) {
	defer func() { panicked = recover() }()
	return v.Validate(objs...), nil
}

func toFinding(validator, level, object string, e apierrors.Error) finding {
	msg := e.Error()
	// Error() starts with "Error: " / "Warning: "; the level is printed separately.
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "Error: "), "Warning: ")
	return finding{validator, level, object, string(e.Type), msg}
}
