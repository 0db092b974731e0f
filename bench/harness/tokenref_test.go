package main

import (
	"context"
	"testing"
	"time"
)

// TestReferenceTokensFromTheDemoOP: the harness's own code flow at a real in-process demo
// OP (PKCE S256, the BFF's scopes) gets n full token sets, one authorization code each.
func TestReferenceTokensFromTheDemoOP(t *testing.T) {
	op, err := startOP([]string{"http://127.0.0.1:1"}, "test-secret-0123456789", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.close)
	got, err := referenceTokens(context.Background(), op.issuer, "test-secret-0123456789", "http://127.0.0.1:1/bff/callback", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d token sets, want 2", len(got))
	}
	for _, s := range got {
		// JWTs signed with RS256: well over 300 characters each; the refresh token is opaque.
		if s.access < 300 || s.id < 300 || s.refresh == 0 || s.total() != s.access+s.refresh+s.id {
			t.Fatalf("token sizes %+v", s)
		}
	}
	if n := op.op.Stats().AuthCodeGrants; n != 2 {
		t.Fatalf("the OP saw %d code grants, want 2", n)
	}
	if _, err := referenceTokens(context.Background(), op.issuer, "wrong-secret-0123456789", "http://127.0.0.1:1/bff/callback", 1); err == nil {
		t.Fatal("a wrong client secret gave tokens")
	}
}
