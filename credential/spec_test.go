package credential

import (
	"context"
	"testing"
)

// TestTokenSpecKey: the key a route token is stored under names what was asked for: the
// scopes' order and repeats do not matter, anything else does.
func TestTokenSpecKey(t *testing.T) {
	a := (&TokenSpec{Resource: "urn:a", Scopes: []string{"w", "r", "w"}}).Key()
	if a != "res:urn:a r w" || a != (&TokenSpec{Resource: "urn:a", Scopes: []string{"r", "w"}}).Key() {
		t.Fatalf("scope order or repeats changed the key: %q", a)
	}
	keys := map[string]bool{}
	for _, s := range []*TokenSpec{
		{Resource: "urn:a"}, {Resource: "urn:a", Scopes: []string{"r"}}, {Resource: "urn:b"},
		{Exchange: &ExchangeSpec{Audience: "urn:a"}}, {Exchange: &ExchangeSpec{Audience: "urn:a", Scope: "r"}},
		{Exchange: &ExchangeSpec{Resource: "urn:a"}},
	} {
		if keys[s.Key()] {
			t.Fatalf("two different specs share the key %q", s.Key())
		}
		keys[s.Key()] = true
	}
}

func TestTokenSpecInContext(t *testing.T) {
	s := &TokenSpec{Resource: "urn:a"}
	if TokenSpecFrom(context.Background()) != nil || TokenSpecFrom(WithTokenSpec(context.Background(), s)) != s {
		t.Fatal("the spec does not travel in the context")
	}
}
