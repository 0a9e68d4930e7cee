// k8s-validate checks rendered Kubernetes manifests against the API's own Go types, offline:
// every document is decoded strictly (an unknown or misspelt field, or a value of the wrong
// type, is an error) into the official type for its apiVersion and kind — k8s.io/api for the
// built-in kinds, the Prometheus Operator's and KEDA's API packages for their resources —
// and a kind it does not know is an error too, so nothing passes unchecked.
//
//	helm template deploy/helm/gaia-sentinel | go run ./tools/k8s-validate
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// The kinds a chart of ours may render, each with the type that decodes it.
var kinds = map[string]func() any{
	"apps/v1/StatefulSet":                     func() any { return &appsv1.StatefulSet{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"rbac.authorization.k8s.io/v1/Role":       func() any { return &rbacv1.Role{} },
	"monitoring.coreos.com/v1/PodMonitor":     func() any { return &monitoringv1.PodMonitor{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
	"keda.sh/v1alpha1/ScaledObject":           func() any { return &kedav1alpha1.ScaledObject{} },
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func main() {
	docs, err := split(os.Stdin)
	if err != nil {
		fail(err)
	}
	var problems []string
	checked := 0
	for i, doc := range docs {
		var h header
		if err := yaml.Unmarshal(doc, &h); err != nil {
			problems = append(problems, fmt.Sprintf("document %d: not YAML: %v", i+1, err))
			continue
		}
		if h.Kind == "" && h.APIVersion == "" {
			continue // an empty document (a template rendered to nothing)
		}
		where := fmt.Sprintf("%s %s/%s", h.APIVersion, h.Kind, h.Metadata.Name)
		make, ok := kinds[h.APIVersion+"/"+h.Kind]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no schema known for this apiVersion and kind", where))
			continue
		}
		if h.Metadata.Name == "" {
			problems = append(problems, fmt.Sprintf("%s: metadata.name is empty", where))
		}
		obj := make()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		problems = append(problems, semantic(where, obj)...)
		checked++
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("%d objects valid\n", checked)
}

// Checks strict decoding cannot make: what the API server's validation would refuse for
// the fields our manifests use.
func semantic(where string, obj any) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, where+": "+fmt.Sprintf(format, args...)) }
	pod := func(spec corev1.PodSpec, labels map[string]string, selector map[string]string) {
		if len(spec.Containers) == 0 {
			bad("the pod has no containers")
		}
		for k, v := range selector {
			if labels[k] != v {
				bad("the selector %s=%s does not match the pod template's labels", k, v)
			}
		}
		volumes := map[string]bool{}
		for _, v := range spec.Volumes {
			volumes[v.Name] = true
		}
		for _, c := range spec.Containers {
			ports := map[string]bool{}
			for _, p := range c.Ports {
				ports[p.Name] = true
			}
			for _, probe := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
				if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
					bad("container %s: a probe uses port %q, which it does not declare", c.Name, probe.HTTPGet.Port.StrVal)
				}
			}
			for _, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					bad("container %s mounts volume %q, which the pod does not define", c.Name, m.Name)
				}
			}
			for _, e := range c.Env {
				if e.Name == "" || strings.ContainsAny(e.Name, " =") {
					bad("container %s: env name %q is not valid", c.Name, e.Name)
				}
			}
		}
	}
	switch o := obj.(type) {
	case *appsv1.StatefulSet:
		if o.Spec.ServiceName == "" {
			bad("spec.serviceName is empty")
		}
		if o.Spec.Selector == nil {
			bad("spec.selector is missing")
		} else {
			pod(o.Spec.Template.Spec, o.Spec.Template.Labels, o.Spec.Selector.MatchLabels)
		}
	case *appsv1.Deployment:
		if o.Spec.Selector != nil {
			pod(o.Spec.Template.Spec, o.Spec.Template.Labels, o.Spec.Selector.MatchLabels)
		}
	case *kedav1alpha1.ScaledObject:
		if o.Spec.ScaleTargetRef == nil || o.Spec.ScaleTargetRef.Name == "" {
			bad("spec.scaleTargetRef.name is empty")
		}
		if len(o.Spec.Triggers) == 0 {
			bad("no triggers")
		}
	case *monitoringv1.PrometheusRule:
		if len(o.Spec.Groups) == 0 {
			bad("no rule groups")
		}
	}
	return out
}

// Multi-document YAML, split on lines that are exactly "---".
func split(r io.Reader) ([][]byte, error) {
	var docs [][]byte
	var cur bytes.Buffer
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for s.Scan() {
		line := s.Text()
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	docs = append(docs, cur.Bytes())
	if len(docs) == 0 {
		return nil, errors.New("no input")
	}
	return docs, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "k8s-validate:", err)
	os.Exit(2)
}
