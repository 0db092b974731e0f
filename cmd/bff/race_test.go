//go:build race

package main

// raceBuildFlags makes a test's own `go build` match `go test -race`, so it reuses the
// packages the test run compiled instead of building every dependency a second time.
func init() { raceBuildFlags = []string{"-race"} }
