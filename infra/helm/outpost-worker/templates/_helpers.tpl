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
