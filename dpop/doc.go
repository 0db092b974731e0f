// Package dpop is OAuth 2.0 Demonstrating Proof of Possession (RFC 9449): the session's
// key pair (Key: made, sealed in a session record as a private JWK, read back), the proof
// JWT a client sends in the DPoP header with each token request and each resource request
// (Key.Proof), the nonces servers hand out (Nonces), and a Verifier for whoever checks
// proofs: the tests' provider and upstream, or an API protected by DPoP-bound tokens.
//
// It knows nothing of the rest of the module: idp signs its token requests with a Key,
// credential signs upstream requests with one, and handler keeps it in the record.
package dpop
