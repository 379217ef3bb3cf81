package main

// fake-provisioner: a tiny external volume provisioner for the test control plane.
//
// For every Pending PVC whose StorageClass has provisioner --provisioner (default
// smbp.io/fake) -- including PVCs without a class when such a class is the default --
// it creates a hostPath PV (pre-bound through claimRef with the PVC's UID) that the
// kube-controller-manager's PV controller then binds. It deletes Released PVs with
// reclaim policy Delete that it provisioned, and it "expands" bound volumes when a
// PVC asks for more storage than its PV has (PV capacity, then PVC status).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

const (
	annProvisionedBy  = "pv.kubernetes.io/provisioned-by"
	annDefaultClass   = "storageclass.kubernetes.io/is-default-class"
	pvcKeyPrefix      = "pvc/"
	pvKeyPrefix       = "pv/"
	provisionerWorker = 2
)

type provisioner struct {
	name      string
	volumeDir string
	client    kubernetes.Interface
	pvcs      corelisters.PersistentVolumeClaimLister
	pvs       corelisters.PersistentVolumeLister
	classes   storagelisters.StorageClassLister
	queue     workqueue.TypedRateLimitingInterface[string]
}

func runFakeProvisioner(args []string) int {
	fs := flag.NewFlagSet("fake-provisioner", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "path to a kubeconfig")
	name := fs.String("provisioner", "smbp.io/fake", "provisioner name served (StorageClass .provisioner)")
	volumeDir := fs.String("volume-dir", filepath.Join(os.TempDir(), "smbp-fake-pv"), "directory under which hostPath volume directories are created")
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.Var(flagValue{klogFlags.Lookup("v").Value}, "v", "log verbosity")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "fake-provisioner: --kubeconfig is required")
		return 2
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.ErrorS(err, "loading kubeconfig")
		return 1
	}
	cfg.UserAgent = "fake-provisioner"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		klog.ErrorS(err, "creating client")
		return 1
	}
	if err := os.MkdirAll(*volumeDir, 0o755); err != nil {
		klog.ErrorS(err, "creating volume dir")
		return 1
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	factory := informers.NewSharedInformerFactory(client, 5*time.Minute)
	p := &provisioner{
		name:      *name,
		volumeDir: *volumeDir,
		client:    client,
		pvcs:      factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:       factory.Core().V1().PersistentVolumes().Lister(),
		classes:   factory.Storage().V1().StorageClasses().Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "fake-provisioner"}),
	}
	defer p.queue.ShutDown()

	enqueue := func(prefix string) cache.ResourceEventHandlerFuncs {
		add := func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				p.queue.Add(prefix + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    add,
			UpdateFunc: func(_, obj any) { add(obj) },
		}
	}
	if _, err := factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(enqueue(pvcKeyPrefix)); err != nil {
		klog.ErrorS(err, "adding PVC handler")
		return 1
	}
	if _, err := factory.Core().V1().PersistentVolumes().Informer().AddEventHandler(enqueue(pvKeyPrefix)); err != nil {
		klog.ErrorS(err, "adding PV handler")
		return 1
	}
	// A new default class can make waiting class-less PVCs provisionable.
	if _, err := factory.Storage().V1().StorageClasses().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.enqueueAllPVCs() },
		UpdateFunc: func(any, any) { p.enqueueAllPVCs() },
	}); err != nil {
		klog.ErrorS(err, "adding StorageClass handler")
		return 1
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			klog.ErrorS(nil, "cache did not sync", "type", typ)
			return 1
		}
	}
	klog.InfoS("fake-provisioner running", "provisioner", p.name, "volumeDir", p.volumeDir)
	for i := 0; i < provisionerWorker; i++ {
		go wait.UntilWithContext(ctx, p.worker, time.Second)
	}
	<-ctx.Done()
	klog.InfoS("fake-provisioner stopping")
	return 0
}

// flagValue lets the std flag set forward -v to klog's flag set.
type flagValue struct{ flag.Value }

func (p *provisioner) enqueueAllPVCs() {
	pvcs, err := p.pvcs.List(labels.Everything())
	if err != nil {
		return
	}
	for _, pvc := range pvcs {
		p.queue.Add(pvcKeyPrefix + pvc.Namespace + "/" + pvc.Name)
	}
}

func (p *provisioner) worker(ctx context.Context) {
	for {
		key, quit := p.queue.Get()
		if quit {
			return
		}
		var err error
		switch {
		case len(key) > len(pvcKeyPrefix) && key[:len(pvcKeyPrefix)] == pvcKeyPrefix:
			err = p.syncPVC(ctx, key[len(pvcKeyPrefix):])
		case len(key) > len(pvKeyPrefix) && key[:len(pvKeyPrefix)] == pvKeyPrefix:
			err = p.syncPV(ctx, key[len(pvKeyPrefix):])
		}
		if err != nil {
			klog.ErrorS(err, "sync failed; will retry", "key", key)
			p.queue.AddRateLimited(key)
		} else {
			p.queue.Forget(key)
		}
		p.queue.Done(key)
	}
}

// classFor returns the StorageClass this PVC uses if it is served by us, else nil.
func (p *provisioner) classFor(pvc *corev1.PersistentVolumeClaim) (*storagev1.StorageClass, error) {
	if pvc.Spec.StorageClassName != nil {
		if *pvc.Spec.StorageClassName == "" {
			return nil, nil // explicitly class-less: only static PVs may bind
		}
		sc, err := p.classes.Get(*pvc.Spec.StorageClassName)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil || sc.Provisioner != p.name {
			return nil, err
		}
		return sc, nil
	}
	// No class at all: use the default class (newest wins, as the API server does).
	classes, err := p.classes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var def *storagev1.StorageClass
	for _, sc := range classes {
		if sc.Annotations[annDefaultClass] != "true" {
			continue
		}
		if def == nil || sc.CreationTimestamp.After(def.CreationTimestamp.Time) {
			def = sc
		}
	}
	if def == nil || def.Provisioner != p.name {
		return nil, nil
	}
	return def, nil
}

func (p *provisioner) syncPVC(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pvc, err := p.pvcs.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pvc.DeletionTimestamp != nil {
		return nil
	}
	sc, err := p.classFor(pvc)
	if err != nil || sc == nil {
		return err
	}
	switch {
	case pvc.Status.Phase == corev1.ClaimPending && pvc.Spec.VolumeName == "":
		return p.provision(ctx, pvc, sc)
	case pvc.Status.Phase == corev1.ClaimBound && pvc.Spec.VolumeName != "":
		return p.expand(ctx, pvc)
	}
	return nil
}

func (p *provisioner) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim, sc *storagev1.StorageClass) error {
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok || size.IsZero() {
		return nil // invalid claim; the API server should have rejected it
	}
	pvName := "pvc-" + string(pvc.UID)
	if _, err := p.pvs.Get(pvName); err == nil {
		return nil // already provisioned; the PV controller binds it
	}
	dir := filepath.Join(p.volumeDir, pvName)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	reclaim := corev1.PersistentVolumeReclaimDelete
	if sc.ReclaimPolicy != nil {
		reclaim = *sc.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName,
			Annotations: map[string]string{annProvisionedBy: p.name},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			VolumeMode:                    pvc.Spec.VolumeMode,
			StorageClassName:              sc.Name,
			PersistentVolumeReclaimPolicy: reclaim,
			MountOptions:                  sc.MountOptions,
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1",
				Kind:       "PersistentVolumeClaim",
				Namespace:  pvc.Namespace,
				Name:       pvc.Name,
				UID:        pvc.UID,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
			},
		},
	}
	if len(pv.Spec.AccessModes) == 0 {
		pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	_, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating PV %s: %w", pvName, err)
	}
	klog.InfoS("provisioned volume", "pv", pvName, "pvc", klog.KObj(pvc), "size", size.String(), "class", sc.Name)
	return nil
}

// expand grows the PV and then reports the new size on the PVC, as an external
// resizer plus kubelet would (no filesystem step exists for a hostPath directory).
func (p *provisioner) expand(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	want, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil
	}
	pv, err := p.pvs.Get(pvc.Spec.VolumeName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[annProvisionedBy] != p.name {
		return nil
	}
	have := pv.Spec.Capacity[corev1.ResourceStorage]
	if want.Cmp(have) > 0 {
		pv = pv.DeepCopy()
		pv.Spec.Capacity[corev1.ResourceStorage] = want
		if _, err := p.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("expanding PV %s: %w", pv.Name, err)
		}
		klog.InfoS("expanded volume", "pv", pv.Name, "from", have.String(), "to", want.String())
		have = want
	}
	cur := pvc.Status.Capacity[corev1.ResourceStorage]
	if cur.Cmp(have) >= 0 && len(pvc.Status.AllocatedResourceStatuses) == 0 && !hasResizeCondition(pvc) {
		return nil
	}
	pvc = pvc.DeepCopy()
	if pvc.Status.Capacity == nil {
		pvc.Status.Capacity = corev1.ResourceList{}
	}
	pvc.Status.Capacity[corev1.ResourceStorage] = have
	if pvc.Status.AllocatedResources != nil {
		pvc.Status.AllocatedResources[corev1.ResourceStorage] = maxQuantity(pvc.Status.AllocatedResources[corev1.ResourceStorage], have)
	}
	pvc.Status.AllocatedResourceStatuses = nil
	conds := pvc.Status.Conditions[:0]
	for _, c := range pvc.Status.Conditions {
		if c.Type != corev1.PersistentVolumeClaimResizing && c.Type != corev1.PersistentVolumeClaimFileSystemResizePending {
			conds = append(conds, c)
		}
	}
	pvc.Status.Conditions = conds
	if _, err := p.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating PVC %s status: %w", klog.KObj(pvc), err)
	}
	return nil
}

func hasResizeCondition(pvc *corev1.PersistentVolumeClaim) bool {
	for _, c := range pvc.Status.Conditions {
		if c.Type == corev1.PersistentVolumeClaimResizing || c.Type == corev1.PersistentVolumeClaimFileSystemResizePending {
			return true
		}
	}
	return false
}

func maxQuantity(a, b resource.Quantity) resource.Quantity {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

func (p *provisioner) syncPV(ctx context.Context, name string) error {
	pv, err := p.pvs.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Annotations[annProvisionedBy] != p.name ||
		pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.DeletionTimestamp != nil {
		return nil
	}
	if hp := pv.Spec.HostPath; hp != nil && filepath.Dir(hp.Path) == filepath.Clean(p.volumeDir) {
		if err := os.RemoveAll(hp.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", hp.Path, err)
		}
	}
	err = p.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pv.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting PV %s: %w", pv.Name, err)
	}
	klog.InfoS("deleted released volume", "pv", pv.Name)
	return nil
}
