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
{{- define "bff.adminTokenDir" -}}/var/run/secrets/tokenward-admin{{- end }}

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
bff.clientAuthByKey: "true" when the client authenticates with a private key
(config.oidc.tokenEndpointAuth private_key_jwt): the Secret then holds the key, not a
client secret.
*/}}
{{- define "bff.clientAuthByKey" -}}
{{- $oidc := .Values.config.oidc | default dict }}
{{- eq (get $oidc "tokenEndpointAuth" | default "") "private_key_jwt" }}
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
{{- with .Values.adminToken.existingSecret }}
{{- $_ := set $server "adminTokenFile" (printf "%s/%s" (include "bff.adminTokenDir" $) $.Values.adminToken.key) }}
{{- end }}
{{- $_ := set $cfg "server" $server }}
{{- $oidc := get $cfg "oidc" | default dict }}
{{- if eq (include "bff.clientAuthByKey" .) "true" }}
{{- $_ := set $oidc "clientKeyFile" (printf "%s/%s" (include "bff.secretDir" .) .Values.secret.keys.clientKey) }}
{{- if .Values.secret.keys.clientCert }}
{{- $_ := set $oidc "clientCertFile" (printf "%s/%s" (include "bff.secretDir" .) .Values.secret.keys.clientCert) }}
{{- end }}
{{- else }}
{{- $_ := set $oidc "clientSecretFile" (printf "%s/%s" (include "bff.secretDir" .) .Values.secret.keys.clientSecret) }}
{{- end }}
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
{{- include "bff.validateGateway" . }}
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

{{/*
bff.authURL: the BFF's /bff/auth inside the cluster (the public Service), for forward-auth.
*/}}
{{- define "bff.authURL" -}}
{{- printf "http://%s.%s.svc.%s:%v/bff/auth" (include "bff.fullname" .) .Release.Namespace .Values.clusterDomain .Values.service.port }}
{{- end }}

{{/*
bff.readyzURL: /readyz on the admin Service, for the helm test.
*/}}
{{- define "bff.readyzURL" -}}
{{- printf "http://%s-admin.%s.svc.%s:%v/readyz" (include "bff.fullname" .) .Release.Namespace .Values.clusterDomain .Values.adminService.port }}
{{- end }}

{{/*
bff.gatewayPathMatches: a list of {type, value} as HTTPRouteMatch entries.
*/}}
{{- define "bff.gatewayPathMatches" -}}
{{- range . }}
- path:
    type: {{ .type | default "PathPrefix" }}
    value: {{ .value | quote }}
{{- end }}
{{- end }}

{{/*
bff.protectedHTTPRoute: the protected app's HTTPRoute on the publicURL's host, attached to
httpRoute.parentRefs. Arguments: root, name, values (paths, backend), filter (or nil).
*/}}
{{- define "bff.protectedHTTPRoute" -}}
{{- $root := .root }}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "bff.labels" $root | nindent 4 }}
    app.kubernetes.io/component: forward-auth
spec:
  parentRefs:
    {{- toYaml $root.Values.httpRoute.parentRefs | nindent 4 }}
  hostnames:
    {{- toYaml ($root.Values.httpRoute.hostnames | default (list (include "bff.publicHost" $root))) | nindent 4 }}
  rules:
    - matches:
        {{- include "bff.gatewayPathMatches" .values.paths | trim | nindent 8 }}
      {{- with .filter }}
      filters:
        {{- toYaml (list .) | nindent 8 }}
      {{- end }}
      backendRefs:
        - name: {{ .values.backend.service.name }}
          port: {{ .values.backend.service.port }}
{{- end }}

{{/*
bff.validateGateway: refusals for the Gateway API routes and forward-auth.
*/}}
{{- define "bff.validateGateway" -}}
{{- $fa := .Values.forwardAuth }}
{{- if and $fa.envoyGateway.enabled $fa.traefik.enabled }}
{{- fail "forwardAuth.envoyGateway and forwardAuth.traefik are both enabled: enable the one your Gateway runs (each renders the protected app's HTTPRoute)" }}
{{- end }}
{{- $gatewayFA := or $fa.envoyGateway.enabled (and $fa.traefik.enabled $fa.traefik.backend.service.name) }}
{{- if and (or .Values.httpRoute.enabled $gatewayFA) (not .Values.httpRoute.parentRefs) }}
{{- fail "httpRoute.parentRefs is empty: name the Gateway the routes attach to, e.g. [{name: eg, namespace: gateways}] (the BFF's HTTPRoute and the protected app's use it)" }}
{{- end }}
{{- range $key := list "envoyGateway" "traefik" }}
{{- $v := get $fa $key }}
{{- if $v.enabled }}
{{- if not (dig "server" "forwardAuth" false $.Values.config) }}
{{- fail (printf "forwardAuth.%s.enabled needs config.server.forwardAuth: true (and config.server.trustedProxies naming the proxy's pods): otherwise /bff/auth answers 404 and every request to the app is denied" $key) }}
{{- end }}
{{- if and (eq $key "envoyGateway") (not $v.backend.service.name) }}
{{- fail "forwardAuth.envoyGateway.enabled needs forwardAuth.envoyGateway.backend.service.name: the Service of the app to protect" }}
{{- end }}
{{- end }}
{{- end }}
{{- if dig "server" "forwardAuth" false .Values.config }}
{{- $paths := list }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.paths }}{{ $paths = append $paths (dict "where" "ingress.paths" "type" (.pathType | default "Prefix") "path" .path) }}{{ end }}
{{- end }}
{{- if .Values.httpRoute.enabled }}
{{- range .Values.httpRoute.paths }}{{ $paths = append $paths (dict "where" "httpRoute.paths" "type" (.type | default "PathPrefix") "path" .value) }}{{ end }}
{{- end }}
{{- range $paths }}
{{- $p := trimSuffix "/" .path }}
{{- $prefix := or (eq .type "Prefix") (eq .type "PathPrefix") }}
{{- $reaches := or (hasPrefix "/bff/auth/" .path) (and (eq .type "Exact") (eq $p "/bff/auth")) (and $prefix (has $p (list "" "/bff" "/bff/auth"))) (not (or $prefix (eq .type "Exact"))) }}
{{- if $reaches }}
{{- fail (printf "%s: %s %q routes /bff/auth to the BFF while config.server.forwardAuth is on: the proxy is a trusted proxy, so a script on the page could fetch /bff/auth and read the access token. List the browser-facing endpoints (/bff/login, /bff/callback, /bff/user, /bff/logout, /bff/backchannel-logout) as Exact paths" .where .type .path) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
bff.testLabels: the helm test pod's labels. Not the selector labels: the Services, the PDB
and the NetworkPolicy must not select it.
*/}}
{{- define "bff.testLabels" -}}
helm.sh/chart: {{ include "bff.chart" . }}
app.kubernetes.io/name: {{ include "bff.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: test
{{- end }}
