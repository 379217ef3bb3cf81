// Command cert-manager-controller runs the real cert-manager controller loops out of cluster
// against the test control plane (hack/addons.sh up certmanager). Built by
// hack/build-addons.sh; never commit binaries.
//
// Upstream's controller main lives in a nested module (cmd/controller, module path
// github.com/cert-manager/cert-manager/controller-binary) that is not published on the Go module
// proxy, and its flag/config handling is in internal/ packages that cannot be imported from
// here. So this is a small main over cert-manager's public packages that mirrors upstream's
// cmd/controller/app.Run: one ContextFactory, the registered controllers started with
// iface.Run(workers, ctx), then the shared informer factories.
//
// Only the controllers needed for SelfSigned and CA issuers are linked in (no ACME, Vault or
// Venafi: their DNS/cloud SDKs would double the build for nothing a test here can use):
//
//	issuers, clusterissuers, certificaterequests-approver,
//	certificaterequests-issuer-ca, certificaterequests-issuer-selfsigned,
//	certificates-trigger, certificates-issuing, certificates-key-manager,
//	certificates-request-manager, certificates-readiness, certificates-revision-manager,
//	certificates-metrics
//
// Flags keep upstream's names and defaults where they exist (--kubeconfig, --master,
// --controllers, --cluster-resource-namespace, --namespace, --enable-certificate-owner-ref,
// --leader-elect (only false is supported), --concurrent-workers, --kube-api-qps,
// --kube-api-burst, --feature-gates, --metrics-listen-address, -v, --logging-format, ...),
// except that the metrics server is off unless --metrics-listen-address is given.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/sets"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/pkg/controller"
	clusterissuerscontroller "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	// Controllers register themselves with controller.Register in init().
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// Issuer types (issuer.RegisterIssuer in init()).
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

type options struct {
	apiServerHost            string
	kubeconfig               string
	qps                      float32
	burst                    int
	namespace                string
	clusterResourceNamespace string
	leaderElect              bool
	controllers              []string
	enableOwnerRef           bool
	copiedAnnotationPrefixes []string
	workers                  int
	featureGates             map[string]bool
	metricsAddress           string
	readyFile                string
	minBackoff, maxBackoff   time.Duration
	logging                  *logsapi.LoggingConfiguration
}

func main() {
	logf.InitLogs()
	defer logf.FlushLogs()
	os.Exit(run())
}

func run() int {
	o := &options{
		qps:                      20,
		burst:                    50,
		clusterResourceNamespace: "kube-system",
		controllers:              []string{"*"},
		copiedAnnotationPrefixes: []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
		workers:                  5,
		featureGates:             map[string]bool{},
		minBackoff:               time.Hour,
		maxBackoff:               32 * time.Hour,
		logging:                  logsapi.NewLoggingConfiguration(),
	}
	fs := pflag.NewFlagSet(os.Args[0], pflag.ContinueOnError)
	fs.StringVar(&o.apiServerHost, "master", "", "Optional apiserver host address to connect to.")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig.")
	fs.Float32Var(&o.qps, "kube-api-qps", o.qps, "Maximum queries-per-second to the apiserver (when API Priority and Fairness is off).")
	fs.IntVar(&o.burst, "kube-api-burst", o.burst, "Maximum burst of requests to the apiserver.")
	fs.StringVar(&o.namespace, "namespace", "", "Limit cert-manager to one namespace (disables ClusterIssuers). Default: all namespaces.")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", o.clusterResourceNamespace,
		"Namespace holding the Secrets referenced by ClusterIssuers.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Only false is supported here.")
	fs.StringSliceVar(&o.controllers, "controllers", o.controllers,
		"Controllers to enable: '*' = all linked in, 'foo' = just foo, '*,-foo' = all but foo. Linked in: "+
			strings.Join(known(), ", "))
	fs.BoolVar(&o.enableOwnerRef, "enable-certificate-owner-ref", false,
		"Set the Certificate as owner of the Secret it writes (the Secret is deleted with the Certificate).")
	fs.StringSliceVar(&o.copiedAnnotationPrefixes, "copied-annotation-prefixes", o.copiedAnnotationPrefixes,
		"Annotation key prefixes copied from Certificate to CertificateRequest ('-' prefix excludes).")
	fs.IntVar(&o.workers, "concurrent-workers", o.workers, "Workers per controller.")
	fs.Var(cliflag.NewMapStringBool(&o.featureGates), "feature-gates", "cert-manager feature gates, key=value pairs. Known:\n"+
		strings.Join(utilfeature.DefaultFeatureGate.KnownFeatures(), "\n"))
	fs.StringVar(&o.metricsAddress, "metrics-listen-address", "",
		"host:port for the Prometheus metrics server; empty (default) disables it. Upstream's default is 0.0.0.0:9402.")
	fs.StringVar(&o.readyFile, "ready-file", "",
		"Create this file once the informer caches have synced (for scripts waiting on start-up); removed on exit.")
	fs.DurationVar(&o.minBackoff, "certificate-request-minimum-backoff-duration", o.minBackoff,
		"Minimum back-off after a failed CertificateRequest.")
	fs.DurationVar(&o.maxBackoff, "certificate-request-maximum-backoff-duration", o.maxBackoff,
		"Maximum back-off after a failed CertificateRequest.")
	logf.AddFlags(o.logging, fs)

	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(o.featureGates); err != nil {
		fmt.Fprintf(os.Stderr, "--feature-gates: %v\n", err)
		return 2
	}
	if err := logf.ValidateAndApply(o.logging); err != nil {
		fmt.Fprintf(os.Stderr, "logging flags: %v\n", err)
		return 2
	}
	if o.leaderElect {
		fmt.Fprintln(os.Stderr, "--leader-elect=true is not supported by this test build")
		return 2
	}
	enabled, err := enabledControllers(o.controllers, o.namespace)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	if err := runControllers(ctx, o, enabled); err != nil {
		logf.Log.Error(err, "cert-manager controller failed")
		return 1
	}
	return 0
}

// known: the names of the controllers linked into this binary, sorted.
func known() []string {
	names := make([]string, 0, len(controller.Known()))
	for n := range controller.Known() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// enabledControllers applies upstream's --controllers rules ('*', 'name', '-name') over the
// controllers linked into this binary; unknown names are an error.
func enabledControllers(spec []string, namespace string) (sets.Set[string], error) {
	all := sets.New(known()...)
	enabled := sets.New[string]()
	var disabled []string
	for _, c := range spec {
		switch {
		case c == "*":
			enabled.Insert(all.UnsortedList()...)
		case strings.HasPrefix(c, "-"):
			disabled = append(disabled, strings.TrimPrefix(c, "-"))
		case c != "":
			enabled.Insert(c)
		}
	}
	if len(disabled) > 0 && enabled.Len() == 0 {
		enabled.Insert(all.UnsortedList()...)
	}
	for _, n := range append(sets.List(enabled), disabled...) {
		if !all.Has(n) {
			return nil, fmt.Errorf("--controllers: %q is not linked into this build (known: %s)", n, strings.Join(known(), ", "))
		}
	}
	if namespace != "" {
		enabled.Delete(clusterissuerscontroller.ControllerName)
	}
	enabled.Delete(disabled...)
	return enabled, nil
}

func runControllers(rootCtx context.Context, o *options, enabled sets.Set[string]) error {
	rootCtx, cancel := context.WithCancel(rootCtx)
	defer cancel()
	log := logf.FromContext(rootCtx)
	v := util.VersionInfo()
	log.Info("starting cert-manager controller (smbp test build)", "version", v.GitVersion, "go_version", v.GoVersion,
		"controllers", sets.List(enabled))

	factory, err := controller.NewContextFactory(rootCtx, controller.ContextOptions{
		APIServerHost:      o.apiServerHost,
		Kubeconfig:         o.kubeconfig,
		KubernetesAPIQPS:   o.qps,
		KubernetesAPIBurst: o.burst,
		Namespace:          o.namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        o.clusterResourceNamespace,
			ClusterIssuerAmbientCredentials: true,
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           o.enableOwnerRef,
			CopiedAnnotationPrefixes:                 o.copiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: o.minBackoff,
			CertificateRequestMaximumBackoffDuration: o.maxBackoff,
		},
		IngressShimOptions: controller.IngressShimOptions{GatewayAPIExtraProtocols: sets.New[string]()},
		SchedulerOptions:   controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
	if err != nil {
		return err
	}
	cmctx, err := factory.Build()
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(rootCtx)

	if o.metricsAddress != "" {
		ln, err := (&net.ListenConfig{}).Listen(gctx, "tcp", o.metricsAddress)
		if err != nil {
			return fmt.Errorf("metrics listener on %s: %w", o.metricsAddress, err)
		}
		cmctx.Metrics.SetupCertificateCollector(cmctx.SharedInformerFactory.Certmanager().V1().Certificates().Lister())
		cmctx.Metrics.SetupIssuerCollector(cmctx.SharedInformerFactory.Certmanager().V1().Issuers().Lister())
		if enabled.Has(clusterissuerscontroller.ControllerName) {
			cmctx.Metrics.SetupClusterIssuerCollector(cmctx.SharedInformerFactory.Certmanager().V1().ClusterIssuers().Lister())
		}
		srv := cmctx.Metrics.NewServer(ln)
		g.Go(func() error {
			<-gctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			return srv.Shutdown(sctx) //nolint:contextcheck
		})
		g.Go(func() error {
			log.Info("serving metrics", "address", ln.Addr().String())
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}

	for _, name := range sets.List(enabled) {
		iface, err := controller.Known()[name](factory)
		if err != nil {
			cancel()
			_ = g.Wait()
			return fmt.Errorf("constructing controller %s: %w", name, err)
		}
		g.Go(func() error {
			log.V(logf.InfoLevel).Info("starting controller", "controller", name)
			return iface.Run(o.workers, gctx)
		})
	}

	cmctx.SharedInformerFactory.Start(gctx.Done())
	cmctx.KubeSharedInformerFactory.Start(gctx.Done())
	cmctx.HTTP01ResourceMetadataInformersFactory.Start(gctx.Done())
	if o.readyFile != "" {
		g.Go(func() error {
			synced := true
			for _, ok := range cmctx.SharedInformerFactory.WaitForCacheSync(gctx.Done()) {
				synced = synced && ok
			}
			for _, ok := range cmctx.KubeSharedInformerFactory.WaitForCacheSync(gctx.Done()) {
				synced = synced && ok
			}
			if !synced {
				return nil // shutting down
			}
			log.Info("informer caches synced", "ready_file", o.readyFile)
			return os.WriteFile(o.readyFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644)
		})
		defer os.Remove(o.readyFile)
	}

	err = g.Wait()
	cmctx.HTTP01ResourceMetadataInformersFactory.Shutdown()
	cmctx.KubeSharedInformerFactory.Shutdown()
	cmctx.SharedInformerFactory.Shutdown()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("control loops exited")
	return nil
}
