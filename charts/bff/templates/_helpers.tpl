{{/*
Names and labels.
*/}}
{{- define "bff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bff.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "bff.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "bff.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bff.labels" -}}
helm.sh/chart: {{ include "bff.chart" . }}
{{ include "bff.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokenward
{{- end }}

{{- define "bff.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bff.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "bff.secretName" -}}
{{- default (include "bff.fullname" .) .Values.secret.name }}
{{- end }}

{{- define "bff.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Where the pod sees its configuration and its secrets.
*/}}
{{- define "bff.configDir" -}}/etc/bff{{- end }}
{{- define "bff.secretDir" -}}/var/run/secrets/tokenward{{- end }}

{{/*
bff.embedded: "true" when the configuration uses the in-process session store (no store,
or "embedded"), which is lost on restart and not shared between replicas.
*/}}
{{- define "bff.embedded" -}}
{{- $store := dig "session" "store" "" .Values.config }}
{{- if or (eq $store "") (eq $store "embedded") }}true{{ end }}
{{- end }}

{{/*
bff.publicHost: the host name of config.server.publicURL.
*/}}
{{- define "bff.publicHost" -}}
{{- $url := required "config.server.publicURL is required: the origin browsers use, e.g. https://app.example.com" (dig "server" "publicURL" "" .Values.config) }}
{{- (urlParse $url).hostname }}
{{- end }}

{{/*
bff.shutdownSeconds: config.server.shutdownTimeout (whole h/m/s units, e.g. 1m30s) in
seconds; 15 (the BFF's default) when unset.
*/}}
{{- define "bff.shutdownSeconds" -}}
{{- $d := dig "server" "shutdownTimeout" "15s" .Values.config | toString }}
{{- if not (regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $d) }}
{{- fail (printf "config.server.shutdownTimeout %q: use whole hours, minutes and seconds, e.g. 15s or 1m30s (the chart derives terminationGracePeriodSeconds from it)" $d) }}
{{- end }}
{{- $h := regexFind "[0-9]+h" $d | trimSuffix "h" | default "0" | atoi }}
{{- $m := regexFind "[0-9]+m" $d | trimSuffix "m" | default "0" | atoi }}
{{- $s := regexFind "[0-9]+s" $d | trimSuffix "s" | default "0" | atoi }}
{{- add (mul $h 3600) (mul $m 60) $s }}
{{- end }}

{{/*
bff.terminationGracePeriodSeconds: long enough for the preStop sleep and a full graceful
shutdown, so the kubelet never SIGKILLs a draining BFF.
*/}}
{{- define "bff.terminationGracePeriodSeconds" -}}
{{- $need := add (int .Values.lifecycle.preStopSleepSeconds) (include "bff.shutdownSeconds" . | atoi) }}
{{- $tgp := .Values.terminationGracePeriodSeconds }}
{{- if kindIs "invalid" $tgp }}
{{- add $need 5 }}
{{- else if le (int $tgp) $need }}
{{- fail (printf "terminationGracePeriodSeconds %d must exceed lifecycle.preStopSleepSeconds + config.server.shutdownTimeout (%d s): the kubelet would kill the BFF while it drains" (int $tgp) $need) }}
{{- else }}
{{- int $tgp }}
{{- end }}
{{- end }}

{{/*
bff.config: the configuration file, from .Values.config plus what the chart owns: the
listeners and the secret files. Secrets themselves are never in it.
*/}}
{{- define "bff.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $server := get $cfg "server" | default dict }}
{{- $_ := set $server "listen" (printf ":%d" (int .Values.ports.http)) }}
{{- $_ := set $server "adminListen" (printf ":%d" (int .Values.ports.admin)) }}
{{- $_ := set $cfg "server" $server }}
{{- $oidc := get $cfg "oidc" | default dict }}
{{- $_ := set $oidc "clientSecretFile" (printf "%s/%s" (include "bff.secretDir" .) .Values.secret.keys.clientSecret) }}
{{- $_ := set $cfg "oidc" $oidc }}
{{- $session := get $cfg "session" | default dict }}
{{- $_ := set $session "keysFile" (printf "%s/%s" (include "bff.secretDir" .) .Values.secret.keys.sessionKeys) }}
{{- if not (include "bff.embedded" .) }}
{{- $_ := set $session "redisURLFile" (printf "%s/%s" (include "bff.secretDir" .) .Values.secret.keys.redisURL) }}
{{- end }}
{{- $_ := set $cfg "session" $session }}
{{- toYaml $cfg }}
{{- end }}

{{/*
bff.validate: refusals that the schema cannot express. Rendered by the Deployment, so
`helm template`, `helm install` and `helm lint` all stop on them.
*/}}
{{- define "bff.validate" -}}
{{- if include "bff.embedded" . }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount is %d but config.session.store is the embedded store, which each replica keeps in its own memory: a user would lose the session whenever another replica answers. Use config.session.store: redis, or replicaCount: 1." (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled with the embedded session store: every replica the autoscaler adds would have its own sessions. Use config.session.store: redis, or disable autoscaling." }}
{{- end }}
{{- end }}
{{- if .Values.secret.create }}
{{- if not .Values.secret.clientSecret }}
{{- fail "secret.create is true but secret.clientSecret is empty: set it, or create the Secret yourself (secret.create: false)" }}
{{- end }}
{{- if not .Values.secret.sessionKeys }}
{{- fail "secret.create is true but secret.sessionKeys is empty: generate one with `bff keygen`" }}
{{- end }}
{{- if and (not (include "bff.embedded" .)) (not .Values.secret.redisURL) }}
{{- fail "config.session.store is redis but secret.redisURL is empty: set it (e.g. rediss://:password@redis:6379/0), or create the Secret yourself" }}
{{- end }}
{{- if and (include "bff.embedded" .) .Values.secret.redisURL }}
{{- fail "secret.redisURL is set but config.session.store is not redis: it would be ignored" }}
{{- end }}
{{- end }}
{{- if and .Values.forwardAuth.ingressNginx.enabled (not .Values.forwardAuth.ingressNginx.backend.service.name) }}
{{- fail "forwardAuth.ingressNginx.enabled needs forwardAuth.ingressNginx.backend.service.name: the Service of the app to protect" }}
{{- end }}
{{- $_ := include "bff.terminationGracePeriodSeconds" . }}
{{- end }}

{{/*
bff.checksum: sha256 of the rendered ConfigMap and Secret, as a pod annotation: a change
of either rolls the pods (a Secret you manage yourself is not seen: restart the rollout).
*/}}
{{- define "bff.checksum" -}}
{{- $cm := include (print .Template.BasePath "/configmap.yaml") . }}
{{- $secret := include (print .Template.BasePath "/secret.yaml") . }}
{{- printf "%s\n---\n%s\n---\n%s" $cm $secret (include "bff.secretName" .) | sha256sum }}
{{- end }}
