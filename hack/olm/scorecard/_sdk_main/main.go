// This file is NOT one of the smbp.io/hack/olm/scorecard module's packages (the leading "_" in
// the directory name keeps `go build ./...` away from it): it imports operator-sdk's internal
// scorecard packages, which only code inside the operator-sdk module may do. ../../build-tools.sh
// copies the operator-sdk module out of the module cache into its temporary build dir, puts this
// file there as the package images/scorecard-local, and builds it through a replace directive.
// The test functions are upstream's, unchanged; only the entry point differs:
//
//   - upstream's images/scorecard-test reads the bundle from the fixed path /bundle (the test
//     pod's mount) and runs one test per process, printing the v1alpha3 TestStatus as JSON;
//   - this one takes --bundle DIR, runs the named tests (default: the six static tests) in one
//     process, checks that tests/scorecard/config.yaml lists them, prints PASS/FAIL per test and
//     exits 1 on any failure (or, with --strict, on any suggestion too).
//
// Usage: scorecard-test --bundle DIR [--config FILE] [--strict] [-v] [-o text|json] [TEST...]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	scapiv1alpha3 "github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	apimanifests "github.com/operator-framework/api/pkg/manifests"

	registryutil "github.com/operator-framework/operator-sdk/internal/registry"
	"github.com/operator-framework/operator-sdk/internal/scorecard"
	"github.com/operator-framework/operator-sdk/internal/scorecard/tests"
)

// The built-in static tests of the scorecard-test image, in the order `operator-sdk init` lists them.
var builtin = []string{
	tests.BasicCheckSpecTest,
	tests.OLMBundleValidationTest,
	tests.OLMCRDsHaveValidationTest,
	tests.OLMCRDsHaveResourcesTest,
	tests.OLMSpecDescriptorsTest,
	tests.OLMStatusDescriptorsTest,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type outcome struct {
	Test        string   `json:"test"`
	State       string   `json:"state"` // pass, fail, error
	Errors      []string `json:"errors,omitempty"`
	Suggestions []string `json:"suggestions,omitempty"`
	Log         string   `json:"log,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scorecard-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bundleDir := fs.String("bundle", "", "bundle directory (holds manifests/, metadata/, tests/scorecard/config.yaml)")
	configPath := fs.String("config", "", "scorecard config (default <bundle>/tests/scorecard/config.yaml)")
	strict := fs.Bool("strict", false, "also fail on suggestions")
	output := fs.String("o", "text", "output: text or json")
	verbose := fs.Bool("v", false, "print each test's log even when it passes")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: scorecard-test --bundle DIR [flags] [TEST...]\n\ntests: %s\n\nflags:\n", strings.Join(builtin, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *bundleDir == "" || (*output != "text" && *output != "json") {
		fs.Usage()
		return 2
	}
	root := filepath.Clean(*bundleDir)
	if *configPath == "" {
		*configPath = filepath.Join(root, scorecard.DefaultConfigDir, scorecard.ConfigFileName)
	}
	selected := fs.Args()
	if len(selected) == 0 {
		selected = builtin
	}
	for _, t := range selected {
		if !contains(builtin, t) {
			fmt.Fprintf(stderr, "scorecard-test: unknown test %q (known: %s)\n", t, strings.Join(builtin, ", "))
			return 2
		}
	}

	var outcomes []outcome

	// The bundle's scorecard config must list every test we run, so that `operator-sdk scorecard`
	// on a real cluster runs the same set.
	cfgOutcome := outcome{Test: "config", State: string(scapiv1alpha3.PassState)}
	if cfg, err := scorecard.LoadConfig(*configPath); err != nil {
		cfgOutcome.State = string(scapiv1alpha3.FailState)
		cfgOutcome.Errors = append(cfgOutcome.Errors, fmt.Sprintf("cannot load scorecard config %s: %v", *configPath, err))
	} else {
		listed := map[string]bool{}
		for _, st := range cfg.Stages {
			for _, t := range st.Tests {
				if len(t.Entrypoint) >= 2 && t.Entrypoint[0] == "scorecard-test" {
					listed[t.Entrypoint[1]] = true
				} else {
					cfgOutcome.Suggestions = append(cfgOutcome.Suggestions,
						fmt.Sprintf("test %v (image %s) is not a built-in static test: not run here (needs a cluster)", t.Entrypoint, t.Image))
				}
			}
		}
		for _, t := range selected {
			if !listed[t] {
				cfgOutcome.State = string(scapiv1alpha3.FailState)
				cfgOutcome.Errors = append(cfgOutcome.Errors, fmt.Sprintf("%s does not list test %q (entrypoint [scorecard-test, %s])", *configPath, t, t))
			}
		}
	}
	outcomes = append(outcomes, cfgOutcome)

	bundle, bErr := apimanifests.GetBundleFromDir(root)
	metadata, _, mErr := registryutil.FindBundleMetadata(root)
	for _, t := range selected {
		if bErr != nil || mErr != nil {
			o := outcome{Test: t, State: string(scapiv1alpha3.ErrorState)}
			for _, err := range []error{bErr, mErr} {
				if err != nil {
					o.Errors = append(o.Errors, err.Error())
				}
			}
			outcomes = append(outcomes, o)
			continue
		}
		var st scapiv1alpha3.TestStatus
		switch t {
		case tests.OLMBundleValidationTest:
			st = tests.BundleValidationTest(root, metadata)
		case tests.OLMCRDsHaveValidationTest:
			st = tests.CRDsHaveValidationTest(bundle)
		case tests.OLMCRDsHaveResourcesTest:
			st = tests.CRDsHaveResourcesTest(bundle)
		case tests.OLMSpecDescriptorsTest:
			st = tests.SpecDescriptorsTest(bundle)
		case tests.OLMStatusDescriptorsTest:
			st = tests.StatusDescriptorsTest(bundle)
		case tests.BasicCheckSpecTest:
			st = tests.CheckSpecTest(bundle)
		}
		o := outcome{Test: t, State: string(scapiv1alpha3.PassState)}
		if len(st.Results) == 0 {
			o.State = string(scapiv1alpha3.ErrorState)
			o.Errors = []string{"test returned no result"}
		}
		for _, r := range st.Results {
			if r.State != scapiv1alpha3.PassState {
				o.State = string(r.State)
			}
			o.Errors = append(o.Errors, r.Errors...)
			o.Suggestions = append(o.Suggestions, r.Suggestions...)
			o.Log += r.Log
		}
		outcomes = append(outcomes, o)
	}

	failed, suggestions := 0, 0
	for i := range outcomes {
		o := &outcomes[i]
		suggestions += len(o.Suggestions)
		if o.State != string(scapiv1alpha3.PassState) || (*strict && len(o.Suggestions) > 0) {
			failed++
			if o.State == string(scapiv1alpha3.PassState) {
				o.State = "fail(strict)"
			}
		}
	}

	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"bundle": root, "results": outcomes, "failed": failed, "suggestions": suggestions})
	} else {
		for _, o := range outcomes {
			verdict := "PASS"
			if o.State != string(scapiv1alpha3.PassState) {
				verdict = "FAIL"
			}
			fmt.Fprintf(stdout, "%s %s", verdict, o.Test)
			if o.State != string(scapiv1alpha3.PassState) && o.State != string(scapiv1alpha3.FailState) {
				fmt.Fprintf(stdout, " (%s)", o.State)
			}
			fmt.Fprintf(stdout, " [%d error(s), %d suggestion(s)]\n", len(o.Errors), len(o.Suggestions))
			for _, e := range o.Errors {
				fmt.Fprintf(stdout, "    error: %s\n", e)
			}
			for _, s := range o.Suggestions {
				fmt.Fprintf(stdout, "    suggestion: %s\n", s)
			}
			if o.Log != "" && (verdict == "FAIL" || *verbose) {
				fmt.Fprintf(stdout, "    log:\n")
				for _, l := range strings.Split(strings.TrimRight(o.Log, "\n"), "\n") {
					fmt.Fprintf(stdout, "      %s\n", l)
				}
			}
		}
		verdict := "PASS"
		if failed > 0 {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "scorecard: %s: %d of %d check(s) failed, %d suggestion(s)\n", verdict, failed, len(outcomes), suggestions)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
