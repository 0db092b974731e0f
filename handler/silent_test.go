package handler

import "testing"

// TestSilentMarkerKeepsTheAppsQueryAndFragment: the marker goes into the query, before any
// fragment (hash routers keep theirs), the app's own parameters stay byte for byte, a
// stale marker is replaced rather than repeated, and the result is still a returnTo that
// CheckReturnTo accepts unchanged (the marker cannot turn a path into a redirect).
func TestSilentMarkerKeepsTheAppsQueryAndFragment(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "root", in: "/", want: "/?bff_login=login_required"},
		{name: "path", in: "/x", want: "/x?bff_login=login_required"},
		{name: "query kept as is", in: "/s?next=https%3A%2F%2Fa.example%2F&q=a+b", want: "/s?next=https%3A%2F%2Fa.example%2F&q=a+b&bff_login=login_required"},
		{name: "fragment kept", in: "/x#section", want: "/x?bff_login=login_required#section"},
		{name: "hash router", in: "/#/orders?tab=2", want: "/?bff_login=login_required#/orders?tab=2"},
		{name: "query and fragment", in: "/x?a=1#b?c=2", want: "/x?a=1&bff_login=login_required#b?c=2"},
		{name: "stale marker replaced", in: "/x?bff_login=consent_required&a=1", want: "/x?a=1&bff_login=login_required"},
		{name: "bare stale marker replaced", in: "/x?bff_login&a", want: "/x?a&bff_login=login_required"},
		{name: "similar name kept", in: "/x?bff_login2=1", want: "/x?bff_login2=1&bff_login=login_required"},
		{name: "empty query", in: "/x?", want: "/x?bff_login=login_required"},
		{name: "empty pairs dropped", in: "/x?a=1&&b=2&", want: "/x?a=1&b=2&bff_login=login_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CheckReturnTo(tc.in); err != nil {
				t.Fatalf("test input %q is not a valid returnTo: %v", tc.in, err)
			}
			got := withSilentMarker(tc.in, "login_required")
			if got != tc.want {
				t.Fatalf("withSilentMarker(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if ok, err := CheckReturnTo(got); err != nil || ok != got {
				t.Fatalf("marked %q is refused or altered by CheckReturnTo: %q %v", got, ok, err)
			}
		})
	}
}

// TestSilentLoginOnlyForInteractionErrors: only the four OIDC "interaction needed" errors
// of a login started with prompt=none return to the app; any other error, and these
// errors for a login that was not silent, keep the error page.
func TestSilentLoginOnlyForInteractionErrors(t *testing.T) {
	silent, loud := &pendingLogin{Silent: true}, &pendingLogin{}
	tests := []struct {
		name string
		ls   *pendingLogin
		e    string
		ok   bool
	}{
		{name: "login_required", ls: silent, e: "login_required", ok: true},
		{name: "consent_required", ls: silent, e: "consent_required", ok: true},
		{name: "interaction_required", ls: silent, e: "interaction_required", ok: true},
		{name: "account_selection_required", ls: silent, e: "account_selection_required", ok: true},
		{name: "access_denied", ls: silent, e: "access_denied"},
		{name: "server_error", ls: silent, e: "server_error"},
		{name: "case differs", ls: silent, e: "Login_Required"},
		{name: "padded", ls: silent, e: "login_required "},
		{name: "injection attempt", ls: silent, e: "login_required#x"},
		{name: "not silent", ls: loud, e: "login_required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, ok := silentNoSession(tc.ls, tc.e)
			if ok != tc.ok || ok && code != tc.e {
				t.Fatalf("silentNoSession(silent=%v, %q) = %q %v, want ok=%v", tc.ls.Silent, tc.e, code, ok, tc.ok)
			}
		})
	}
}
