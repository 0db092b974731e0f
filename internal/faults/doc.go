// Package faults injects the failures a BFF meets in production into tests: a TCP proxy in
// front of the session store (stall, delay, dropped connections, a killed server) and a
// wrapper for the provider's token endpoint (slow before or after the provider answers,
// 503, refused connections). It is test infrastructure (layer 0): it knows nothing of the
// BFF, and nothing in the BFF imports it outside tests.
package faults
