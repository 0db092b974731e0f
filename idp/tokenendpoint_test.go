package idp

import "testing"

func TestTokenFields(t *testing.T) {
	for _, tt := range []struct {
		name, ctype, body string
		wantAT            string
		wantExp           int64
		wantGiven, err    bool
	}{
		{name: "JSON number", ctype: "application/json", body: `{"access_token":"a","expires_in":3600}`, wantAT: "a", wantExp: 3600, wantGiven: true},
		{name: "JSON numeric string", ctype: "application/json; charset=utf-8", body: `{"access_token":"a","expires_in":"3600"}`, wantAT: "a", wantExp: 3600, wantGiven: true},
		{name: "JSON fraction", ctype: "application/json", body: `{"access_token":"a","expires_in":59.9}`, wantAT: "a", wantExp: 59, wantGiven: true},
		{name: "JSON word", ctype: "application/json", body: `{"access_token":"a","expires_in":"soon"}`, wantAT: "a", wantGiven: true},
		{name: "JSON null", ctype: "application/json", body: `{"access_token":"a","expires_in":null}`, wantAT: "a", wantGiven: true},
		{name: "JSON absent", ctype: "application/json", body: `{"access_token":"a"}`, wantAT: "a"},
		{name: "JSON huge", ctype: "application/json", body: `{"access_token":"a","expires_in":1e300}`, wantAT: "a", wantGiven: true},
		{name: "no content type is read as JSON", body: `{"access_token":"a","expires_in":5}`, wantAT: "a", wantExp: 5, wantGiven: true},
		{name: "form encoded", ctype: "application/x-www-form-urlencoded", body: "access_token=a&expires_in=7", wantAT: "a", wantExp: 7, wantGiven: true},
		{name: "access token not a string", ctype: "application/json", body: `{"access_token":{"x":1}}`},
		{name: "not JSON", ctype: "application/json", body: `<html>`, err: true},
		{name: "a JSON array", ctype: "application/json", body: `[]`, err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tokenFields(tt.ctype, []byte(tt.body))
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			exp, given := f.expiresIn()
			if f.get("access_token") != tt.wantAT || exp != tt.wantExp || given != tt.wantGiven {
				t.Fatalf("access_token %q, expires_in %d given %v; want %q %d %v", f.get("access_token"), exp, given, tt.wantAT, tt.wantExp, tt.wantGiven)
			}
		})
	}
}
