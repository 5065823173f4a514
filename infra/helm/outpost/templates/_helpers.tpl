{{- define "outpost.labels" -}}
app.kubernetes.io/name: outpost
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/*
The Secret holding DATABASE_URL: the existing one, or the chart's own when a URL is given as a
plain value, which only allowPlainSecrets admits (the password would be in the release's values).
*/}}
{{- define "outpost.databaseSecret" -}}
{{- if .Values.controlPlane.database.url -}}
{{- if not .Values.controlPlane.allowPlainSecrets -}}
{{ fail "controlPlane.database.url puts the database password in the release's values: name an existing Secret with controlPlane.database.existingSecret (and existingSecretKey), or set controlPlane.allowPlainSecrets: true" }}
{{- end -}}
{{ .Release.Name }}-database
{{- else if .Values.controlPlane.database.existingSecret -}}
{{ .Values.controlPlane.database.existingSecret }}
{{- else -}}
{{ fail "controlPlane.database needs existingSecret (a Secret with key DATABASE_URL)" }}
{{- end -}}
{{- end -}}

{{/* The key of DATABASE_URL in that Secret: the chart's own Secret's is DATABASE_URL. */}}
{{- define "outpost.databaseSecretKey" -}}
{{- if .Values.controlPlane.database.url -}}
DATABASE_URL
{{- else -}}
{{ .Values.controlPlane.database.existingSecretKey | default "DATABASE_URL" }}
{{- end -}}
{{- end -}}

{{/* The Secret with OUTPOST_SECRET_KEY, which seals signing keys in the database: required. */}}
{{- define "outpost.secretKeySecret" -}}
{{- .Values.controlPlane.secretKeySecret | required "controlPlane.secretKeySecret: name an existing Secret with key OUTPOST_SECRET_KEY (32+ characters, e.g. openssl rand -base64 32); without it the run-token signing keys are stored unsealed in the database" -}}
{{- end -}}

{{/* The worker's OUTPOST_WORKER_ALLOW_SOURCES, comma-joined; empty fails unless worker.allowAnySource. */}}
{{- define "outpost.workerAllowSources" -}}
{{- if .Values.worker.allowSources -}}
{{- join "," .Values.worker.allowSources -}}
{{- else if not .Values.worker.allowAnySource -}}
{{- fail "worker.allowSources: list the source prefixes the worker may run code from (e.g. oci://registry.internal:5000/acme/), or set worker.allowAnySource: true to run code from any source the control plane names" -}}
{{- end -}}
{{- end -}}
