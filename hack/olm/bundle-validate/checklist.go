package main

// The "checklist" validator: the project's own OLM/certification checklist (DESIGN.md §5) for
// what operator-framework/api's validators do not check at all, e.g. an empty spec.description,
// no maintainers, the features.operators.openshift.io annotations, digest-pinned relatedImages
// that cover every image. Everything here is an error: the project's bar is zero findings.
// What the upstream validators in the default set already report (missing minKubeVersion,
// provider, icon, alm-examples, owned-CRD description) is not repeated here.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	apimanifests "github.com/operator-framework/api/pkg/manifests"
	apierrors "github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const descriptorPrefix = "urn:alm:descriptor:"

// Required CSV annotations (non-empty), besides the feature annotations below.
var requiredCSVAnnotations = []string{
	"capabilities", "categories", "containerImage", "createdAt", "repository",
	"support", "description", "operatorframework.io/suggested-namespace",
	"operators.openshift.io/valid-subscription",
}

// OpenShift's required infrastructure-feature annotations: each must be "true" or "false".
var featureAnnotations = []string{
	"features.operators.openshift.io/disconnected",
	"features.operators.openshift.io/fips-compliant",
	"features.operators.openshift.io/proxy-aware",
	"features.operators.openshift.io/tls-profiles",
	"features.operators.openshift.io/token-auth-aws",
	"features.operators.openshift.io/token-auth-azure",
	"features.operators.openshift.io/token-auth-gcp",
}

// Required metadata/annotations.yaml keys, with the value when it is fixed.
var requiredBundleAnnotations = map[string]string{
	"operators.operatorframework.io.bundle.mediatype.v1":       "registry+v1",
	"operators.operatorframework.io.bundle.manifests.v1":       "manifests/",
	"operators.operatorframework.io.bundle.metadata.v1":        "metadata/",
	"operators.operatorframework.io.bundle.package.v1":         "",
	"operators.operatorframework.io.bundle.channels.v1":        "",
	"operators.operatorframework.io.bundle.channel.default.v1": "",
	"operators.operatorframework.io.test.mediatype.v1":         "scorecard+v1",
	"operators.operatorframework.io.test.config.v1":            "tests/scorecard/",
	"com.redhat.openshift.versions":                            "",
}

var (
	openshiftVersions = regexp.MustCompile(`^=?v4\.[0-9]+(-v4\.[0-9]+)?$`)
	digestPinned      = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
)

// checklistValidator returns the validator for the bundle at dir. Optional value
// `dockerfile=<path>` also checks that bundle.Dockerfile is FROM scratch and that its LABELs
// mirror metadata/annotations.yaml. `require-digests=false` skips the digest-pinning checks
// (for development bundles, whose images have not been built yet; releases keep them on).
func checklistValidator(dir string) interfaces.Validator {
	return interfaces.ValidatorFunc(func(objs ...any) []apierrors.ManifestResult {
		var bundle *apimanifests.Bundle
		optional := map[string]string{}
		for _, o := range objs {
			switch v := o.(type) {
			case *apimanifests.Bundle:
				bundle = v
			case map[string]string:
				for k, val := range v {
					optional[k] = val
				}
			}
		}
		if bundle == nil {
			return nil
		}
		r := apierrors.ManifestResult{Name: bundle.Name}
		c := &checker{r: &r, requireDigests: optional["require-digests"] != "false"}
		c.bundleAnnotations(dir, bundle, optional["dockerfile"])
		if bundle.CSV != nil {
			c.csv(bundle)
		}
		c.objects(bundle)
		return []apierrors.ManifestResult{r}
	})
}

type checker struct {
	r              *apierrors.ManifestResult
	requireDigests bool
}

func (c *checker) errf(field, format string, args ...any) {
	c.r.Add(apierrors.NewError(apierrors.ErrorFailedValidation, fmt.Sprintf(format, args...), field, nil))
}

func (c *checker) csv(bundle *apimanifests.Bundle) {
	csv := bundle.CSV
	s := csv.Spec
	ann := csv.GetAnnotations()

	if bundle.Package != "" && csv.Name != fmt.Sprintf("%s.v%s", bundle.Package, s.Version.String()) {
		c.errf("metadata.name", "CSV name %q is not <package>.v<version> (%s.v%s)", csv.Name, bundle.Package, s.Version.String())
	}
	if strings.TrimSpace(s.DisplayName) == "" {
		c.errf("spec.displayName", "empty")
	}
	if strings.TrimSpace(s.Description) == "" {
		c.errf("spec.description", "empty (the long description OperatorHub shows)")
	}
	if len(s.Keywords) == 0 {
		c.errf("spec.keywords", "empty")
	}
	if len(s.Maintainers) == 0 {
		c.errf("spec.maintainers", "empty (name and a valid email)")
	}
	if len(s.Links) == 0 {
		c.errf("spec.links", "empty")
	}
	if strings.TrimSpace(s.Maturity) == "" {
		c.errf("spec.maturity", "empty (alpha, beta, stable ...)")
	}
	for i, icon := range s.Icon {
		if icon.MediaType != "image/svg+xml" && icon.MediaType != "image/png" {
			c.errf(fmt.Sprintf("spec.icon[%d].mediatype", i), "%q is not image/svg+xml or image/png", icon.MediaType)
		}
		if _, err := base64.StdEncoding.DecodeString(icon.Data); err != nil || icon.Data == "" {
			c.errf(fmt.Sprintf("spec.icon[%d].base64data", i), "not valid base64 data")
		}
	}

	// Annotations.
	for _, k := range requiredCSVAnnotations {
		if strings.TrimSpace(ann[k]) == "" {
			c.errf("metadata.annotations", "%q is missing or empty", k)
		}
	}
	for _, k := range featureAnnotations {
		if v, ok := ann[k]; !ok {
			c.errf("metadata.annotations", "%q is missing (must be \"true\" or \"false\")", k)
		} else if v != "true" && v != "false" {
			c.errf("metadata.annotations", "%q is %q, must be \"true\" or \"false\"", k, v)
		}
	}
	if v := ann["createdAt"]; v != "" {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			c.errf("metadata.annotations.createdAt", "%q is not RFC 3339 (e.g. 2026-01-02T15:04:05Z)", v)
		}
	}
	if v := ann["repository"]; v != "" {
		if u, err := url.ParseRequestURI(v); err != nil || u.Host == "" {
			c.errf("metadata.annotations.repository", "%q is not a URL", v)
		}
	}
	if v := ann["operators.openshift.io/valid-subscription"]; v != "" {
		var subs []string
		if err := json.Unmarshal([]byte(v), &subs); err != nil {
			c.errf("metadata.annotations", "operators.openshift.io/valid-subscription %q is not a JSON array of strings", v)
		}
	}
	if v := ann["alm-examples"]; v != "" {
		var examples []map[string]any
		if err := json.Unmarshal([]byte(v), &examples); err != nil {
			c.errf("metadata.annotations.alm-examples", "not a JSON array of objects: %v", err)
		} else {
			perKind := map[string]int{}
			for _, ex := range examples {
				perKind[fmt.Sprintf("%v/%v", ex["apiVersion"], ex["kind"])]++
			}
			for _, o := range s.CustomResourceDefinitions.Owned {
				group := o.Name[strings.Index(o.Name, ".")+1:]
				if n := perKind[group+"/"+o.Version+"/"+o.Kind]; n != 1 {
					c.errf("metadata.annotations.alm-examples", "has %d example(s) of owned %s/%s %s, want exactly 1", n, group, o.Version, o.Kind)
				}
			}
		}
	}

	// Owned CRDs: display name, description, resources, descriptors.
	for _, o := range s.CustomResourceDefinitions.Owned {
		where := fmt.Sprintf("spec.customresourcedefinitions.owned[%s/%s]", o.Name, o.Version)
		if strings.TrimSpace(o.DisplayName) == "" {
			c.errf(where+".displayName", "empty")
		}
		if len(o.Resources) == 0 {
			c.errf(where+".resources", "empty (the kinds this CR owns)")
		}
		if len(o.SpecDescriptors) == 0 {
			c.errf(where+".specDescriptors", "empty")
		}
		if len(o.StatusDescriptors) == 0 {
			c.errf(where+".statusDescriptors", "empty")
		}
		check := func(kind, path, displayName, description string, xds []string) {
			w := fmt.Sprintf("%s.%sDescriptors[%s]", where, kind, path)
			if displayName == "" || description == "" {
				c.errf(w, "needs displayName and description")
			}
			if len(xds) == 0 {
				c.errf(w, "has no x-descriptors")
			}
			for _, x := range xds {
				if !strings.HasPrefix(x, descriptorPrefix) {
					c.errf(w, "x-descriptor %q does not start with %q", x, descriptorPrefix)
				}
			}
		}
		for _, d := range o.SpecDescriptors {
			check("spec", d.Path, d.DisplayName, d.Description, d.XDescriptors)
		}
		for _, d := range o.StatusDescriptors {
			check("status", d.Path, d.DisplayName, d.Description, d.XDescriptors)
		}
	}

	// Disconnected: every image is in relatedImages, pinned by digest, and RELATED_IMAGE_* env
	// values are among them.
	related := map[string]bool{}
	if len(s.RelatedImages) == 0 {
		c.errf("spec.relatedImages", "empty (list every image, pinned by digest)")
	}
	for i, ri := range s.RelatedImages {
		related[ri.Image] = true
		if ri.Name == "" {
			c.errf(fmt.Sprintf("spec.relatedImages[%d].name", i), "empty")
		}
		if c.requireDigests && !digestPinned.MatchString(ri.Image) {
			c.errf(fmt.Sprintf("spec.relatedImages[%d].image", i), "%q is not pinned by digest (@sha256:...)", ri.Image)
		}
	}
	if v := ann["containerImage"]; v != "" && !related[v] {
		c.errf("metadata.annotations.containerImage", "%q is not in spec.relatedImages", v)
	}
	for _, d := range s.InstallStrategy.StrategySpec.DeploymentSpecs {
		var containers []corev1.Container
		containers = append(containers, d.Spec.Template.Spec.InitContainers...)
		containers = append(containers, d.Spec.Template.Spec.Containers...)
		for _, ct := range containers {
			w := fmt.Sprintf("spec.install.spec.deployments[%s].containers[%s]", d.Name, ct.Name)
			if !related[ct.Image] {
				c.errf(w+".image", "%q is not in spec.relatedImages", ct.Image)
			}
			if c.requireDigests && !digestPinned.MatchString(ct.Image) {
				c.errf(w+".image", "%q is not pinned by digest", ct.Image)
			}
			for _, e := range ct.Env {
				if strings.HasPrefix(e.Name, "RELATED_IMAGE_") && !related[e.Value] {
					c.errf(w+".env."+e.Name, "%q is not in spec.relatedImages", e.Value)
				}
			}
		}
	}
}

func (c *checker) objects(bundle *apimanifests.Bundle) {
	for _, o := range bundle.Objects {
		if o.GetKind() == "NetworkPolicy" {
			c.errf("manifests", "NetworkPolicy %q must not be shipped in the bundle", o.GetName())
		}
	}
}

func (c *checker) bundleAnnotations(dir string, bundle *apimanifests.Bundle, dockerfile string) {
	path := filepath.Join(dir, "metadata", "annotations.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		c.errf("metadata/annotations.yaml", "cannot read: %v", err)
		return
	}
	var f struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		c.errf("metadata/annotations.yaml", "cannot parse: %v", err)
		return
	}
	keys := make([]string, 0, len(requiredBundleAnnotations))
	for k := range requiredBundleAnnotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want := requiredBundleAnnotations[k]
		got, ok := f.Annotations[k]
		switch {
		case !ok || got == "":
			c.errf("metadata/annotations.yaml", "%q is missing or empty", k)
		case want != "" && got != want:
			c.errf("metadata/annotations.yaml", "%q is %q, want %q", k, got, want)
		}
	}
	if v := f.Annotations["com.redhat.openshift.versions"]; v != "" && !openshiftVersions.MatchString(v) {
		c.errf("metadata/annotations.yaml", "com.redhat.openshift.versions %q is not like v4.18-v4.21 or v4.18", v)
	}
	if def := f.Annotations["operators.operatorframework.io.bundle.channel.default.v1"]; def != "" {
		found := false
		for _, ch := range strings.Split(f.Annotations["operators.operatorframework.io.bundle.channels.v1"], ",") {
			found = found || strings.TrimSpace(ch) == def
		}
		if !found {
			c.errf("metadata/annotations.yaml", "default channel %q is not among the channels", def)
		}
	}
	if dockerfile != "" {
		c.dockerfile(dockerfile, f.Annotations)
	}
}

// dockerfile checks a bundle.Dockerfile: FROM scratch, and a LABEL key=value for every
// annotation in metadata/annotations.yaml.
func (c *checker) dockerfile(path string, annotations map[string]string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		c.errf("dockerfile", "cannot read %s: %v", path, err)
		return
	}
	labels := map[string]string{}
	from := ""
	// Join continuation lines, then read FROM and LABEL instructions.
	text := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			if len(fields) > 1 {
				from = fields[1]
			}
		case "LABEL":
			for _, kv := range fields[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					labels[k] = strings.Trim(v, `"'`)
				}
			}
		}
	}
	if from != "scratch" {
		c.errf("dockerfile", "%s: FROM %q, want scratch", path, from)
	}
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := annotations[k]
		if got, ok := labels[k]; !ok {
			c.errf("dockerfile", "%s: no LABEL %s (annotations.yaml has %q)", path, k, v)
		} else if got != v {
			c.errf("dockerfile", "%s: LABEL %s=%q, annotations.yaml has %q", path, k, got, v)
		}
	}
}
