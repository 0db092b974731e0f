// Package check holds the tests of Tokenward's deployment artefacts: the Dockerfile and
// .dockerignore, compose.yaml with .env.example and the Keycloak realm it imports, and
// the Helm chart in charts/bff. None of them can run here (no Docker engine, no cluster),
// so each test checks what `docker build`, `docker compose` and Kubernetes would receive,
// with the libraries those tools use:
//
//   - image/: the Dockerfile parsed by BuildKit's own parser; the build context computed
//     with the .dockerignore matcher Docker uses, against the files `go list` says the
//     build reads.
//   - compose/: compose.yaml loaded, validated against the Compose schema and
//     interpolated by compose-go (the loader of `docker compose`), with .env.example's
//     values and throwaway secrets; the BFF's environment then loaded and validated by
//     the BFF's own config package; the realm file checked against the BFF's settings.
//   - chart/: manifests rendered by `helm template` (scripts/helm-check) decoded strictly
//     into the k8s.io/api types (Gateway API's and prometheus-operator's too, and local
//     mirrors of Envoy Gateway's SecurityPolicy and Traefik's Middleware fields), their
//     ConfigMap loaded by the BFF's config package, and the chart's refusals (`fail`)
//     exercised through the helm binary; the PrometheusRule's expressions checked against
//     the BFF's registered metrics, the `helm test` script run with busybox, and the
//     chart README's values table kept equal to values.yaml.
//
// This is a module of its own (github.com/tokenward/bff/deploy/check) so that the BFF's
// go.mod stays free of Kubernetes, Compose and BuildKit dependencies; `go test ./...` at
// the repository root does not enter it. Run it with scripts/helm-check, which renders
// the chart first, or directly: `cd deploy/check && go test ./...` (the chart tests then
// skip, except under CI=true, where they fail).
package check
