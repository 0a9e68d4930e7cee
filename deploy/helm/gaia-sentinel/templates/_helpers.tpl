{{- define "gaia.name" -}}{{ .Chart.Name }}{{- end -}}

{{- define "gaia.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "gaia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gaia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gaia.labels" -}}
{{ include "gaia.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gaia.image" -}}
{{- $tag := .Values.image.tag | default (printf "%s%s" .Chart.AppVersion (ternary "-gpu" "" .Values.gpu.enabled)) -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}

{{- define "gaia.checks" -}}
{{- if and .Values.autoscaling.keda.enabled (gt (int .Values.autoscaling.keda.maxReplicas) (int .Values.kafka.framesPartitions)) -}}
{{- fail (printf "autoscaling.keda.maxReplicas (%v) must not exceed kafka.framesPartitions (%v): agents beyond the partition count get no work" .Values.autoscaling.keda.maxReplicas .Values.kafka.framesPartitions) -}}
{{- end -}}
{{- with .Values.model.volume -}}
{{- if ne (len (keys .)) 1 -}}
{{- fail (printf "model.volume must hold exactly one volume source (such as persistentVolumeClaim or image), not %v: docs/DEPLOY.md" (keys . | sortAlpha)) -}}
{{- end -}}
{{- if not (hasPrefix "/" $.Values.model.mountPath) -}}
{{- fail (printf "model.mountPath must be an absolute path, not %q" $.Values.model.mountPath) -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.autoscaling.keda.enabled) (gt (int .Values.replicas) (int .Values.kafka.framesPartitions)) -}}
{{- fail (printf "replicas (%v) must not exceed kafka.framesPartitions (%v): agents beyond the partition count get no work" .Values.replicas .Values.kafka.framesPartitions) -}}
{{- end -}}
{{- if and .Values.kafka.sasl.mechanism (not .Values.kafka.sasl.existingSecret) -}}
{{- fail "kafka.sasl.mechanism is set: name the Secret holding the password in kafka.sasl.existingSecret" -}}
{{- end -}}
{{- end -}}

{{/* GAIA_MODEL_DIR: the package on the model volume when one is set, else the one in the image. */}}
{{- define "gaia.modelDir" -}}
{{- if .Values.model.volume -}}
{{- if .Values.model.subPath }}{{ printf "%s/%s" (trimSuffix "/" .Values.model.mountPath) (trimPrefix "/" .Values.model.subPath) }}{{ else }}{{ .Values.model.mountPath }}{{ end -}}
{{- else -}}
{{- .Values.model.dir -}}
{{- end -}}
{{- end -}}
