{{- define "outpost-worker.name" -}}
{{- printf "%s-%s" .Release.Name .Values.pool | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "outpost-worker.labels" -}}
app.kubernetes.io/name: outpost-worker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
outpost.dev/pool: {{ .Values.pool | quote }}
{{- end -}}
