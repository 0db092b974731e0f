package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
	"github.com/tokenward/bff/internal/testenv"
)

// testClientKeyPEM is a throwaway RSA 2048 key (PKCS#8) for private_key_jwt: the
// in-process provider (zitadel's op) verifies RS256 client assertions.
const testClientKeyPEM = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCzgcFEMGV0Xnyk
/CfanbEwtSKWfSZehNz0Y7/EGcJWa/6UPz1LxoGiprvPDjxAcsV/tLng0nHF+msg
besu6UordTOg9k7uRB/pORY9uPSPbDq7vgcWv24XRuSOOoQgzYJm/srdWk4g2/+9
R0yARPSef66gDgG6tUmBkir/XcLJxoxA5ejG9TLL+lUQWrqwYctN3l300oqeCYav
hTFx5vv/Y84bW2gCcoVFviLmCCPe8T9MSFJM5WaxJ/MAproIfq1tx8Zbyq67+zzI
/boEnvmsIpOKgoyP7JXGsimzPcmd+GKXCbBRDw0xlxSuxzsUJKD47oGiERlWoQ31
AiuYmPDbAgMBAAECggEAVDM4CZk97aDojKcutpAjbjp41+gqWEmwLv6fFAgVLV6I
0tb7FJEve7EEBXKi9oQfefC3A+sSrQ/ysgp9N8r8HHhkWEtQ6NiRs18wvJEGPkRB
JJFVV+lBZa++Q6zVD2H2mgNH+x6B6U3onstT6hLuP26a5b7MNt0Udq+udYxwcx5g
piHukv04T1sbSvQUrijP+fEigGVJ4ojLHttHxrXC2lXc4eJM6EpWNcqxubfJNOY+
e+92dzw6rHG7VA5J8UFUfBswQxTsqJDZwB+Vnk7w0b5piOZJb1DSmsSImeoEJ171
GgcihmcRveECGXGS9AqSFrnFZjPQbmGBjkBv10A/0QKBgQD4IzlIbfmz1EKLKTqQ
DT3zELxsUmVb7BoNHH4+IeqAAmAv3kVdsGzhskmOrGWVAsIW0PUMne8aWLeExF8s
jHI7ySg2iTo0MMT240oBx7MfsG31fVvtsQR+GzouKzyplHjFX4Ig/CT5UAAUtLCe
l5/d60I6oHp97IuvcQ96xELiAwKBgQC5MdSo5pZasiuapru0d067HFqkofhgZ3sO
rwNUurEyoRzXOg2l1Yv3zPmmgDlhbVbtgP8xaHzhyaZrrB1U4IcUNAttOizh3Fow
AQ434ouKkK1A4Q63rHsIyq31kKBurhwremYFFqCClLpRTyhruRKlreoiUJlkPf04
NdW1tCYqSQKBgEo0xnm5odY8oRXa44+W1jLti1vdnEBMMFJBdiOAow9bJobKMvZc
v4MTfVn0hoB0jbSjEtWOGaZIZ8GFtGyvJ65nbuY4Tbaz6wNmX4h+vzu32Hp03dwM
dyp7W//YoFCafS+Ra2oP3cLNQOjwTG1xLLcCFxFPUrJ73h4+coGlVdcfAoGBAIa0
BR+5YUGk+OxrPHq+kSiuLgwzt8q/WhXLHNwjU0IlSCoQkt69nipnEGuYNqRz+FeW
jYgtnTBKEV+d+FPFYNtEI8+WEhFSytLB4cqqYJ8wLqTTTnYw4ej6K2BDiz4WLG0/
gTdQRv3UGlWMAzWfjz2ta3D8OSZdpHKfTcv1thDpAoGAQ5ahSrJgJMxfKz60lMBU
4PohHPwhDqQzwEAteUxjKW/IT68bHP0huM/Vneo9CDkwX9J6g6bvdOb/5PoXAROZ
s0WAs17tau8JfLMFsx730cQOtb0c+SeI5FpoL9uVAqt4Mixalm7tYh7nHnnSU4NY
My8jffA/67evb6gmB6DhkP4=
-----END PRIVATE KEY-----
`

// TestPrivateKeyJWTClientLogsInRefreshesAndRevokes: with oidc.tokenEndpointAuth
// private_key_jwt and no client secret at all, the BFF authenticates to a provider that
// knows only its public key, at the token endpoint for the code (login) and for the refresh
// token, and at the revocation endpoint (logout).
func TestPrivateKeyJWTClientLogsInRefreshesAndRevokes(t *testing.T) {
	o := testenv.Options{ClientKeyPEM: testClientKeyPEM}
	testenv.ShortTokens(&o)
	e := testenv.Start(t, o)
	if e.Config.OIDC.ClientSecret != "" {
		t.Fatal("the test must run without a client secret")
	}
	r := e.Login(t, nil, "alice", "/")
	r.Body.Close()
	if got := e.OP.Stats().AuthCodeGrants; got != 1 {
		t.Fatalf("%d code grants, want 1: the login's code exchange was refused", got)
	}
	time.Sleep(2100 * time.Millisecond) // past the token's life: the next call refreshes
	if r := e.Do(t, nil, http.MethodGet, "/api/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("API call after expiry: %d, want 200 through a refresh", r.StatusCode)
	}
	if got := e.OP.Stats().RefreshGrants; got != 1 {
		t.Fatalf("%d refresh grants, want 1", got)
	}
	if r := e.Do(t, nil, http.MethodPost, "/bff/logout", nil); r.StatusCode >= 400 {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if got := e.OP.Stats().Revocations; got != 1 {
		t.Fatalf("%d revocations, want 1: the refresh token outlived the logout", got)
	}
}

// TestPrivateKeyJWTWithCertificateAtTheCertifiedProvider: a client certificate (what
// Entra ID needs) only adds x5t#S256 and x5t to the assertion header: a provider that
// knows the key alone, with the default issuer audience, still accepts the login.
func TestPrivateKeyJWTWithCertificateAtTheCertifiedProvider(t *testing.T) {
	cert, err := bff.NewClientCert([]byte(testClientKeyPEM), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o := testenv.Options{ClientKeyPEM: testClientKeyPEM, Configure: func(c *config.Config) {
		c.OIDC.ClientCert = string(cert)
	}}
	e := testenv.Start(t, o)
	r := e.Login(t, nil, "alice", "/")
	r.Body.Close()
	if got := e.OP.Stats().AuthCodeGrants; got != 1 {
		t.Fatalf("%d code grants, want 1: the login's code exchange was refused", got)
	}
}
