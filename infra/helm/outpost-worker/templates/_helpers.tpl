{{- define "outpost-worker.name" -}}
{{- printf "%s-%s" .Release.Name .Values.pool | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "outpost-worker.labels" -}}
app.kubernetes.io/name: outpost-worker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
outpost.dev/pool: {{ .Values.pool | quote }}
{{- end -}}

{{- /* OUTPOST_WORKER_GPUS from `gpus`: a count (4 → "0,1,2,3"), a list of ids, or ids separated by commas. */ -}}
{{- define "outpost-worker.gpus" -}}
{{- $gpus := .Values.gpus -}}
{{- if kindIs "slice" $gpus -}}
{{- join "," $gpus -}}
{{- else if or (kindIs "int" $gpus) (kindIs "int64" $gpus) (kindIs "float64" $gpus) -}}
{{- join "," (until (int $gpus)) -}}
{{- else -}}
{{- $gpus -}}
{{- end -}}
{{- end -}}

{{- /*
OUTPOST_WORKER_ALLOW_SOURCES from `allowSources`, comma-joined. Empty fails the render unless
allowAnySource is true: a worker without it runs any source the control plane names.
*/ -}}
{{- define "outpost-worker.allowSources" -}}
{{- if .Values.allowSources -}}
{{- join "," .Values.allowSources -}}
{{- else if not .Values.allowAnySource -}}
{{- fail "allowSources: list the source prefixes these workers may run code from (e.g. oci://registry.internal:5000/acme/), or set allowAnySource: true to run code from any source the control plane names" -}}
{{- end -}}
{{- end -}}

{{- /* OUTPOST_TRUST_KEYS from `trustKeys`: the path of each key's file in the trust-keys ConfigMap. */ -}}
{{- define "outpost-worker.trustKeyPaths" -}}
{{- $paths := list -}}
{{- range $i, $key := .Values.trustKeys -}}
{{- $paths = append $paths (printf "/etc/outpost/trust-keys/key-%d.pem" $i) -}}
{{- end -}}
{{- join "," $paths -}}
{{- end -}}
