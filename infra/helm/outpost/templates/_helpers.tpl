{{- define "outpost.labels" -}}
app.kubernetes.io/name: outpost
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The Secret holding DATABASE_URL: the chart's own when a URL is given, else the existing one. */}}
{{- define "outpost.databaseSecret" -}}
{{- if .Values.controlPlane.database.url -}}
{{ .Release.Name }}-database
{{- else if .Values.controlPlane.database.existingSecret -}}
{{ .Values.controlPlane.database.existingSecret }}
{{- else -}}
{{ fail "controlPlane.database needs existingSecret (a Secret with key DATABASE_URL) or url" }}
{{- end -}}
{{- end -}}
