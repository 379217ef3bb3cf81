// Command strimzi-standin is a STAND-IN for Strimzi's cluster, topic and user operators on the
// test control plane (hack/addons.sh up strimzi). It is NOT Strimzi: there is no Kafka broker,
// it only makes kafka.strimzi.io/v1 resources look the way the real operators leave them, so
// that code which consumes Strimzi's API can be tested without a broker.
//
// Kafka (every one, in every namespace):
//   - Secrets <kafka>-cluster-ca / <kafka>-cluster-ca-cert (ca.key / ca.crt) and
//     <kafka>-clients-ca / <kafka>-clients-ca-cert: self-signed CAs generated once, owned by
//     the Kafka, labelled like Strimzi's (strimzi.io/kind=Kafka, strimzi.io/cluster=<kafka>).
//   - status: Ready=True, observedGeneration, clusterId, kafkaVersion (from spec, if set) and
//     one entry of status.listeners per spec.kafka.listeners entry: name,
//     bootstrapServers "<kafka>-kafka-bootstrap.<ns>.svc:<port>", addresses, and for tls
//     listeners certificates [the cluster CA PEM]. Without listeners in the spec, a single
//     "tls" listener on 9093 is reported.
//
// KafkaTopic / KafkaUser (as Strimzi's entity operators, which only handle resources labelled
// strimzi.io/cluster=<kafka>, for a Kafka that exists in the same namespace; others are left
// untouched until such a Kafka appears, unless --require-kafka=false):
//   - KafkaTopic: finalizer strimzi.io/topic-operator (removed on deletion, like the unidirectional
//     topic operator, but also when the Kafka is gone, so that namespace deletion never hangs;
//     --use-finalizers=false turns it off), status Ready=True, observedGeneration, topicName
//     (spec.topicName or metadata.name), topicId.
//   - KafkaUser: status Ready=True, observedGeneration, username, secret.
//     spec.authentication.type scram-sha-512: Secret <user> with password (random 32
//     alphanumerics, or the one from spec.authentication.password.valueFrom.secretKeyRef) and
//     sasl.jaas.config (ScramLoginModule). tls: Secret <user> with ca.crt, user.crt, user.key
//     (CN=<user>, signed by the clients CA). The Secret is labelled strimzi.io/kind=KafkaUser,
//     strimzi.io/cluster=<kafka> and owned by the KafkaUser. tls-external or none: no Secret.
//     A missing password Secret sets Ready=False (InvalidResourceException) and is retried.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

const (
	group            = "kafka.strimzi.io"
	clusterLabel     = "strimzi.io/cluster"
	kindLabel        = "strimzi.io/kind"
	topicFinalizer   = "strimzi.io/topic-operator"
	fieldManager     = "strimzi-standin"
	defaultKafkaVers = "4.1.0"
)

var (
	kafkaGVR = schema.GroupVersionResource{Group: group, Version: "v1", Resource: "kafkas"}
	topicGVR = schema.GroupVersionResource{Group: group, Version: "v1", Resource: "kafkatopics"}
	userGVR  = schema.GroupVersionResource{Group: group, Version: "v1", Resource: "kafkausers"}
)

type standin struct {
	dyn           dynamic.Interface
	kube          kubernetes.Interface
	requireKafka  bool
	useFinalizers bool
	kafkas        cache.GenericLister
	topics        cache.GenericLister
	users         cache.GenericLister
	queue         workqueue.TypedRateLimitingInterface[item]
	caMu          sync.Mutex // serialises CA creation
}

// item: one object to reconcile.
type item struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

func main() {
	klog.InitFlags(nil)
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "path to a kubeconfig")
	namespace := flag.String("namespace", "", "watch only this namespace (default: all)")
	workers := flag.Int("workers", 4, "concurrent reconciles")
	resync := flag.Duration("resync", 30*time.Second, "informer resync period")
	requireKafka := flag.Bool("require-kafka", true,
		"handle a KafkaTopic/KafkaUser only when the Kafka named by its strimzi.io/cluster label exists in its namespace")
	useFinalizers := flag.Bool("use-finalizers", true, "add the strimzi.io/topic-operator finalizer to KafkaTopics")
	readyFile := flag.String("ready-file", "", "create this file once the caches have synced; removed on exit")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("kubeconfig: %v", err)
	}
	cfg.UserAgent = fieldManager
	cfg.QPS, cfg.Burst = 50, 100
	s := &standin{
		dyn:           dynamic.NewForConfigOrDie(cfg),
		kube:          kubernetes.NewForConfigOrDie(cfg),
		requireKafka:  *requireKafka,
		useFinalizers: *useFinalizers,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[item](200*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[item]{Name: "strimzi-standin"}),
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.dyn, *resync, *namespace, nil)
	for _, gvr := range []schema.GroupVersionResource{kafkaGVR, topicGVR, userGVR} {
		inf := f.ForResource(gvr)
		_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { s.enqueue(gvr, o) },
			UpdateFunc: func(_, o any) { s.enqueue(gvr, o) },
			DeleteFunc: func(o any) { s.enqueue(gvr, o) },
		})
		if err != nil {
			klog.Fatalf("informer for %s: %v", gvr.Resource, err)
		}
	}
	s.kafkas = f.ForResource(kafkaGVR).Lister()
	s.topics = f.ForResource(topicGVR).Lister()
	s.users = f.ForResource(userGVR).Lister()
	f.Start(ctx.Done())
	klog.Infof("strimzi-standin: waiting for caches (kafkas, kafkatopics, kafkausers in %s)", nsOrAll(*namespace))
	for gvr, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			klog.Fatalf("cache for %s did not sync (are the Strimzi CRDs installed?)", gvr.Resource)
		}
	}
	klog.Infof("strimzi-standin: running (require-kafka=%v, use-finalizers=%v)", s.requireKafka, s.useFinalizers)
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
			klog.Fatalf("ready file: %v", err)
		}
		defer os.Remove(*readyFile)
	}

	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	s.queue.ShutDown()
	wg.Wait()
	f.Shutdown()
	klog.Info("strimzi-standin: stopped")
}

func nsOrAll(ns string) string {
	if ns == "" {
		return "all namespaces"
	}
	return "namespace " + ns
}

func (s *standin) enqueue(gvr schema.GroupVersionResource, o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	s.queue.Add(item{gvr: gvr, namespace: u.GetNamespace(), name: u.GetName()})
	if gvr == kafkaGVR {
		// The entity operators start (or stop) with their Kafka: revisit its topics and users.
		for _, l := range []cache.GenericLister{s.topics, s.users} {
			if l == nil {
				continue
			}
			objs, _ := l.ByNamespace(u.GetNamespace()).List(k8slabels.SelectorFromSet(k8slabels.Set{clusterLabel: u.GetName()}))
			for _, ro := range objs {
				c := ro.(*unstructured.Unstructured)
				g := topicGVR
				if c.GetKind() == "KafkaUser" {
					g = userGVR
				}
				s.queue.Add(item{gvr: g, namespace: c.GetNamespace(), name: c.GetName()})
			}
		}
	}
}

func (s *standin) processNext(ctx context.Context) bool {
	it, shutdown := s.queue.Get()
	if shutdown {
		return false
	}
	defer s.queue.Done(it)
	var err error
	switch it.gvr {
	case kafkaGVR:
		err = s.reconcileKafka(ctx, it)
	case topicGVR:
		err = s.reconcileTopic(ctx, it)
	case userGVR:
		err = s.reconcileUser(ctx, it)
	}
	if err != nil {
		if ctx.Err() == nil {
			klog.Warningf("%s %s/%s: %v (retrying)", it.gvr.Resource, it.namespace, it.name, err)
		}
		s.queue.AddRateLimited(it)
		return true
	}
	s.queue.Forget(it)
	return true
}

func (s *standin) get(l cache.GenericLister, it item) (*unstructured.Unstructured, error) {
	o, err := l.ByNamespace(it.namespace).Get(it.name)
	if err != nil {
		return nil, err
	}
	return o.(*unstructured.Unstructured).DeepCopy(), nil
}

// ---------------------------------------------------------------------------------------------
// Kafka

func (s *standin) reconcileKafka(ctx context.Context, it item) error {
	k, err := s.get(s.kafkas, it)
	if apierrors.IsNotFound(err) {
		return nil // CA Secrets go with their owner (garbage collector)
	}
	if err != nil || k.GetDeletionTimestamp() != nil {
		return err
	}
	clusterCA, err := s.ensureCA(ctx, k, "cluster-ca", "cluster-ca")
	if err != nil {
		return err
	}
	if _, err := s.ensureCA(ctx, k, "clients-ca", "clients-ca"); err != nil {
		return err
	}

	var listeners []any
	specListeners, _, _ := unstructured.NestedSlice(k.Object, "spec", "kafka", "listeners")
	if len(specListeners) == 0 {
		specListeners = []any{map[string]any{"name": "tls", "port": int64(9093), "tls": true}}
	}
	for _, l := range specListeners {
		lm, ok := l.(map[string]any)
		if !ok {
			continue
		}
		name, _ := lm["name"].(string)
		port := toInt64(lm["port"])
		host := fmt.Sprintf("%s-kafka-bootstrap.%s.svc", k.GetName(), k.GetNamespace())
		st := map[string]any{
			"name":             name,
			"addresses":        []any{map[string]any{"host": host, "port": port}},
			"bootstrapServers": fmt.Sprintf("%s:%d", host, port),
		}
		if tls, _ := lm["tls"].(bool); tls {
			st["certificates"] = []any{string(clusterCA.certPEM)}
		}
		listeners = append(listeners, st)
	}
	version, _, _ := unstructured.NestedString(k.Object, "spec", "kafka", "version")
	if version == "" {
		version = defaultKafkaVers
	}
	status := map[string]any{
		"observedGeneration":            k.GetGeneration(),
		"listeners":                     listeners,
		"clusterId":                     shortID(string(k.GetUID())),
		"kafkaVersion":                  version,
		"operatorLastSuccessfulVersion": "strimzi-standin",
	}
	if mv, _, _ := unstructured.NestedString(k.Object, "spec", "kafka", "metadataVersion"); mv != "" {
		status["kafkaMetadataVersion"] = mv
	}
	return s.patchStatus(ctx, kafkaGVR, k, status)
}

type ca struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// ensureCA returns the CA kept in Secrets <kafka>-<keyName> (ca.key) and <kafka>-<certName>-cert
// (ca.crt), creating both if needed.
func (s *standin) ensureCA(ctx context.Context, k *unstructured.Unstructured, keyName, certName string) (*ca, error) {
	s.caMu.Lock()
	defer s.caMu.Unlock()
	ns := k.GetNamespace()
	keySecret := k.GetName() + "-" + keyName
	certSecret := k.GetName() + "-" + certName + "-cert"
	secrets := s.kube.CoreV1().Secrets(ns)
	ks, kerr := secrets.Get(ctx, keySecret, metav1.GetOptions{})
	cs, cerr := secrets.Get(ctx, certSecret, metav1.GetOptions{})
	if kerr == nil && cerr == nil {
		if c, err := parseCA(cs.Data["ca.crt"], ks.Data["ca.key"]); err == nil {
			return c, nil
		}
	}
	for _, err := range []error{kerr, cerr} {
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	c, keyPEM, err := newCA(fmt.Sprintf("%s-%s (strimzi-standin)", k.GetName(), certName))
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		kindLabel:                      "Kafka",
		clusterLabel:                   k.GetName(),
		"app.kubernetes.io/name":       "strimzi",
		"app.kubernetes.io/instance":   k.GetName(),
		"app.kubernetes.io/part-of":    "strimzi-" + k.GetName(),
		"app.kubernetes.io/managed-by": fieldManager,
	}
	annotations := map[string]string{"strimzi.io/ca-cert-generation": "0", "strimzi.io/ca-key-generation": "0"}
	for name, data := range map[string]map[string][]byte{
		keySecret:  {"ca.key": keyPEM},
		certSecret: {"ca.crt": c.certPEM},
	} {
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns, Labels: labels, Annotations: annotations,
				OwnerReferences: []metav1.OwnerReference{ownerRef(k)},
			},
			Type: corev1.SecretTypeOpaque,
			Data: data,
		}
		if _, err := secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: fieldManager}); apierrors.IsAlreadyExists(err) {
			old, gerr := secrets.Get(ctx, name, metav1.GetOptions{})
			if gerr != nil {
				return nil, gerr
			}
			old.Data, old.Labels, old.OwnerReferences = data, labels, sec.OwnerReferences
			if _, err := secrets.Update(ctx, old, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
	}
	klog.Infof("kafka %s/%s: created %s and %s", ns, k.GetName(), keySecret, certSecret)
	return c, nil
}

func newCA(cn string) (*ca, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"io.strimzi"}, CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return &ca{cert: c, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})},
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

func parseCA(certPEM, keyPEM []byte) (*ca, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("no PEM")
	}
	c, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return &ca{cert: c, key: ek, certPEM: certPEM}, nil
}

// ---------------------------------------------------------------------------------------------
// KafkaTopic

func (s *standin) reconcileTopic(ctx context.Context, it item) error {
	t, err := s.get(s.topics, it)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.GetDeletionTimestamp() != nil {
		// Always let go, even when the Kafka is gone already (namespace deletion removes
		// everything at once). Real Strimzi would leave such a topic stuck: deliberately not
		// copied, so that deleting a test namespace never hangs.
		return s.setFinalizer(ctx, topicGVR, t, false)
	}
	managed, err := s.managed(t)
	if err != nil || !managed {
		return err // Strimzi's topic operator never sees it: no status, no finalizer
	}
	if s.useFinalizers {
		if err := s.setFinalizer(ctx, topicGVR, t, true); err != nil {
			return err
		}
	}
	topicName, _, _ := unstructured.NestedString(t.Object, "spec", "topicName")
	if topicName == "" {
		topicName = t.GetName()
	}
	status := map[string]any{
		"observedGeneration": t.GetGeneration(),
		"topicName":          topicName,
		"topicId":            shortID(string(t.GetUID())),
	}
	return s.patchStatus(ctx, topicGVR, t, status)
}

// ---------------------------------------------------------------------------------------------
// KafkaUser

func (s *standin) reconcileUser(ctx context.Context, it item) error {
	u, err := s.get(s.users, it)
	if apierrors.IsNotFound(err) {
		return nil // the Secret goes with its owner (garbage collector)
	}
	if err != nil || u.GetDeletionTimestamp() != nil {
		return err
	}
	managed, err := s.managed(u)
	if err != nil || !managed {
		return err
	}
	cluster := u.GetLabels()[clusterLabel]
	authType, _, _ := unstructured.NestedString(u.Object, "spec", "authentication", "type")
	status := map[string]any{"observedGeneration": u.GetGeneration(), "username": u.GetName()}
	var data map[string][]byte
	switch authType {
	case "scram-sha-512":
		pw, err := s.userPassword(ctx, u)
		if err != nil {
			return s.patchStatusNotReady(ctx, u, status, "InvalidResourceException", err.Error())
		}
		data = map[string][]byte{
			"password": []byte(pw),
			"sasl.jaas.config": []byte(fmt.Sprintf(
				"org.apache.kafka.common.security.scram.ScramLoginModule required username=%q password=%q;",
				u.GetName(), pw)),
		}
	case "tls-external":
		status["username"] = "CN=" + u.GetName() // no Secret: the certificate is issued elsewhere
	case "tls":
		status["username"] = "CN=" + u.GetName()
		data, err = s.userCert(ctx, u, cluster)
		if err != nil {
			return err
		}
	}
	if data != nil {
		if err := s.ensureUserSecret(ctx, u, cluster, authType, data); err != nil {
			return err
		}
		status["secret"] = u.GetName()
	}
	return s.patchStatus(ctx, userGVR, u, status)
}

// userPassword: the password from spec.authentication.password.valueFrom.secretKeyRef, else the
// one already in the user's Secret, else a new random one.
func (s *standin) userPassword(ctx context.Context, u *unstructured.Unstructured) (string, error) {
	ref, found, _ := unstructured.NestedStringMap(u.Object, "spec", "authentication", "password", "valueFrom", "secretKeyRef")
	if found {
		sec, err := s.kube.CoreV1().Secrets(u.GetNamespace()).Get(ctx, ref["name"], metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("password secret %q: %v", ref["name"], err)
		}
		pw, ok := sec.Data[ref["key"]]
		if !ok || len(pw) == 0 {
			return "", fmt.Errorf("password secret %q has no key %q", ref["name"], ref["key"])
		}
		return string(pw), nil
	}
	if sec, err := s.kube.CoreV1().Secrets(u.GetNamespace()).Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
		if pw := sec.Data["password"]; len(pw) > 0 && sec.Labels[kindLabel] == "KafkaUser" {
			return string(pw), nil
		}
	} else if !apierrors.IsNotFound(err) {
		return "", err
	}
	return randomPassword(32)
}

func (s *standin) userCert(ctx context.Context, u *unstructured.Unstructured, cluster string) (map[string][]byte, error) {
	if sec, err := s.kube.CoreV1().Secrets(u.GetNamespace()).Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
		if len(sec.Data["user.crt"]) > 0 && len(sec.Data["user.key"]) > 0 && sec.Labels[kindLabel] == "KafkaUser" {
			return map[string][]byte{"ca.crt": sec.Data["ca.crt"], "user.crt": sec.Data["user.crt"], "user.key": sec.Data["user.key"]}, nil
		}
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	k, err := s.kafkas.ByNamespace(u.GetNamespace()).Get(cluster)
	if err != nil {
		return nil, fmt.Errorf("kafka %q for the clients CA: %v", cluster, err)
	}
	c, err := s.ensureCA(ctx, k.(*unstructured.Unstructured), "clients-ca", "clients-ca")
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: u.GetName()},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"ca.crt":   c.certPEM,
		"user.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"user.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func (s *standin) ensureUserSecret(ctx context.Context, u *unstructured.Unstructured, cluster, authType string, data map[string][]byte) error {
	labels := map[string]string{
		kindLabel:                      "KafkaUser",
		clusterLabel:                   cluster,
		"app.kubernetes.io/instance":   u.GetName(),
		"app.kubernetes.io/name":       "strimzi-user-operator",
		"app.kubernetes.io/part-of":    "strimzi-" + cluster,
		"app.kubernetes.io/managed-by": "strimzi-user-operator",
	}
	// Strimzi also copies spec.template.secret.metadata labels/annotations.
	tl, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "secret", "metadata", "labels")
	ta, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "secret", "metadata", "annotations")
	for k, v := range tl {
		labels[k] = v
	}
	secrets := s.kube.CoreV1().Secrets(u.GetNamespace())
	want := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: u.GetName(), Namespace: u.GetNamespace(), Labels: labels, Annotations: ta,
			OwnerReferences: []metav1.OwnerReference{ownerRef(u)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
	old, err := secrets.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
			return err
		}
		klog.Infof("kafkauser %s/%s: created Secret %s (%s)", u.GetNamespace(), u.GetName(), u.GetName(), authType)
		return nil
	}
	if err != nil {
		return err
	}
	if reflect.DeepEqual(old.Data, data) && subset(labels, old.Labels) && reflect.DeepEqual(old.OwnerReferences, want.OwnerReferences) {
		return nil
	}
	old.Data = data
	if old.Labels == nil {
		old.Labels = map[string]string{}
	}
	for k, v := range labels {
		old.Labels[k] = v
	}
	old.OwnerReferences = want.OwnerReferences
	_, err = secrets.Update(ctx, old, metav1.UpdateOptions{FieldManager: fieldManager})
	return err
}

// ---------------------------------------------------------------------------------------------
// helpers

// managed: labelled strimzi.io/cluster and (with --require-kafka) that Kafka exists.
func (s *standin) managed(o *unstructured.Unstructured) (bool, error) {
	cluster := o.GetLabels()[clusterLabel]
	if cluster == "" {
		return false, nil
	}
	if !s.requireKafka {
		return true, nil
	}
	k, err := s.kafkas.ByNamespace(o.GetNamespace()).Get(cluster)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return k.(*unstructured.Unstructured).GetDeletionTimestamp() == nil, nil
}

func (s *standin) setFinalizer(ctx context.Context, gvr schema.GroupVersionResource, o *unstructured.Unstructured, present bool) error {
	fins := o.GetFinalizers()
	has := false
	var out []string
	for _, f := range fins {
		if f == topicFinalizer {
			has = true
			continue
		}
		out = append(out, f)
	}
	if has == present {
		return nil
	}
	if present {
		out = append(out, topicFinalizer)
	}
	if out == nil {
		out = []string{}
	}
	// JSON patch with a test on resourceVersion: never drop someone else's concurrent change.
	patch, _ := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/resourceVersion", "value": o.GetResourceVersion()},
		{"op": "replace", "path": "/metadata/finalizers", "value": out},
	})
	if len(fins) == 0 {
		patch, _ = json.Marshal([]map[string]any{
			{"op": "test", "path": "/metadata/resourceVersion", "value": o.GetResourceVersion()},
			{"op": "add", "path": "/metadata/finalizers", "value": out},
		})
	}
	_, err := s.dyn.Resource(gvr).Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.JSONPatchType, patch,
		metav1.PatchOptions{FieldManager: fieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// patchStatus sets status (plus a Ready=True condition) unless it is already so.
func (s *standin) patchStatus(ctx context.Context, gvr schema.GroupVersionResource, o *unstructured.Unstructured, status map[string]any) error {
	return s.writeStatus(ctx, gvr, o, status, "True", "", "")
}

func (s *standin) patchStatusNotReady(ctx context.Context, u *unstructured.Unstructured, status map[string]any, reason, msg string) error {
	if err := s.writeStatus(ctx, userGVR, u, status, "False", reason, msg); err != nil {
		return err
	}
	return fmt.Errorf("%s: %s", reason, msg)
}

func (s *standin) writeStatus(ctx context.Context, gvr schema.GroupVersionResource, o *unstructured.Unstructured,
	status map[string]any, ready, reason, msg string) error {
	old, _, _ := unstructured.NestedMap(o.Object, "status")
	now := time.Now().UTC().Format(time.RFC3339)
	cond := map[string]any{"type": "Ready", "status": ready, "lastTransitionTime": now}
	if reason != "" {
		cond["reason"], cond["message"] = reason, msg
	}
	if oldConds, ok := old["conditions"].([]any); ok {
		for _, c := range oldConds {
			if cm, ok := c.(map[string]any); ok && cm["type"] == "Ready" && cm["status"] == ready {
				cond["lastTransitionTime"] = cm["lastTransitionTime"]
			}
		}
	}
	status["conditions"] = []any{cond}
	// Normalise through JSON so that int64 vs float64 etc. compare equal to what the cache holds.
	var want map[string]any
	b, _ := json.Marshal(status)
	if err := json.Unmarshal(b, &want); err != nil {
		return err
	}
	if reflect.DeepEqual(normalise(old), normalise(want)) {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"status": want})
	_, err := s.dyn.Resource(gvr).Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: fieldManager}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		klog.V(1).Infof("%s %s/%s: status Ready=%s", gvr.Resource, o.GetNamespace(), o.GetName(), ready)
	}
	return err
}

func normalise(m map[string]any) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &out)
	return out
}

func ownerRef(o *unstructured.Unstructured) metav1.OwnerReference {
	f := false
	return metav1.OwnerReference{
		APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Name: o.GetName(), UID: o.GetUID(),
		Controller: &f, BlockOwnerDeletion: &f,
	}
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// shortID: a stable, Kafka-style (base64url, 22 chars) id derived from a UID.
func shortID(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func randomPassword(n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var sb strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for i := 0; i < n; i++ {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		sb.WriteByte(alphabet[x.Int64()])
	}
	return sb.String(), nil
}
