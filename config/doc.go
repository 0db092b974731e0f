// # Loading
//
// [Load] builds a Config in four layers, each overriding the one before:
//
//  1. [Defaults]: the defaults stated on each field below.
//  2. The YAML file (Source.File), decoded strictly: an unknown key, a duplicate key or
//     a value of the wrong shape is reported with its key path and line. A key that is
//     absent or empty keeps the default.
//  3. The environment (Source.Env): every key is also read from "BFF_" + its path in
//     upper snake case ([EnvName]: oidc.clientSecret → BFF_OIDC_CLIENT_SECRET). Lists
//     are comma-separated, durations in Go syntax (30s, 12h), booleans as
//     strconv.ParseBool; routes is one variable, BFF_ROUTES, a YAML/JSON flow sequence.
//     Empty variables count as unset.
//  4. Source.Set (bff --set key=value), in the same syntax as the environment.
//
// Load then reads the secret files (oidc.clientSecretFile, session.keysFile,
// session.redisURLFile: the way Kubernetes and Docker mount secrets) into their keys,
// and fills in each route's defaults ([Route.WithDefaults]). Load reports every
// problem with keys at once, as a [*ValidationError].
//
// # Validating
//
// [Validate] checks the values, without side effects, and reports every problem at once,
// sorted by key path, as a [*ValidationError]: `bff check` prints them. Validation is
// where the configuration's security rules live: https origins (http only on loopback),
// session keys of 32 random bytes, routes that cannot shadow /bff/ or escape with "..",
// authorization parameters that cannot override the protocol's own, a CSRF header that
// forces a CORS preflight.
//
// # Secrets
//
// oidc.clientSecret, session.keys and session.redisURL (it may carry a password) are
// secrets: no Problem, error string or log line ever holds their values.
//
// # Schema
//
// [Schema] is the JSON Schema of the YAML file, derived from the yaml tags, [Defaults]
// and the validators' value lists; config/bff.schema.json is its committed copy (a test
// keeps them equal) for editors, and `bff config schema` prints it.
//
// docs/configuration.md documents every key; a test fails when a key of the struct is
// missing there, so the reference cannot fall behind.
package config
