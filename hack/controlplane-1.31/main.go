// Command controlplane is the per-version part of the test control plane for an older
// Kubernetes: kube-apiserver, kube-controller-manager and kube-scheduler as one multi-call
// binary (dispatching on the name it was invoked as, or on its first argument).
//
// etcd, kubectl, fake-provisioner and kwok are not rebuilt per version: hack/build-controlplane.sh
// links them from the newest build (hack/controlplane), which works with every supported version
// (etcd 3.6 serves Kubernetes >= 1.31; kubectl and kwok only use stable APIs).
//
// Keep this file identical in every hack/controlplane-<minor>/ directory (hack/build-controlplane.sh
// checks it); it must compile against each version's k8s.io/kubernetes.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // CronJob time zones (as in the upstream mains)

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var components = map[string]func(){
	"kube-apiserver": func() {
		os.Exit(cli.Run(apiserver.NewAPIServerCommand()))
	},
	"kube-controller-manager": func() {
		os.Exit(cli.Run(controllermanager.NewControllerManagerCommand()))
	},
	"kube-scheduler": func() {
		os.Exit(cli.Run(scheduler.NewSchedulerCommand()))
	},
}

func main() {
	name := filepath.Base(os.Args[0])
	run, ok := components[name]
	if !ok && len(os.Args) > 1 {
		// `controlplane <component> args...`: shift the component name into argv[0].
		if run, ok = components[os.Args[1]]; ok {
			os.Args = os.Args[1:]
		}
	}
	if !ok {
		names := make([]string, 0, len(components))
		for n := range components {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: invoke as (or pass as first argument) one of: %s\n", strings.Join(names, ", "))
		os.Exit(2)
	}
	run()
}
