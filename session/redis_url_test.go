package session

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		name         string
		url          string
		wantMode     redisMode
		wantAddrs    []string
		wantDB       int
		wantTLS      bool
		wantMaster   string
		wantPassword string // data nodes
		wantSentPass string // sentinels
	}{
		{name: "single node", url: "redis://127.0.0.1:6379/2",
			wantMode: modeSingle, wantAddrs: []string{"127.0.0.1:6379"}, wantDB: 2},
		{name: "single node, default port", url: "redis://cache",
			wantMode: modeSingle, wantAddrs: []string{"cache:6379"}},
		{name: "single node over TLS with password", url: "rediss://:s3cret@cache.example.com:6380/0",
			wantMode: modeSingle, wantAddrs: []string{"cache.example.com:6380"}, wantTLS: true, wantPassword: "s3cret"},
		{name: "unix socket", url: "unix:///run/redis.sock?db=3",
			wantMode: modeSingle, wantAddrs: []string{"/run/redis.sock"}, wantDB: 3},
		{name: "sentinel scheme, userinfo for both", url: "redis+sentinel://:pw@s1:26379/1?master_name=mymaster&addr=s2:26379",
			wantMode: modeSentinel, wantAddrs: []string{"s1:26379", "s2:26379"}, wantDB: 1, wantMaster: "mymaster",
			wantPassword: "pw", wantSentPass: "pw"},
		{name: "sentinel by master_name, separate data password", url: "redis://s1:26379?master_name=m&password=datapw",
			wantMode: modeSentinel, wantAddrs: []string{"s1:26379"}, wantMaster: "m", wantPassword: "datapw"},
		{name: "sentinel over TLS", url: "rediss+sentinel://s1:26379?master_name=m",
			wantMode: modeSentinel, wantAddrs: []string{"s1:26379"}, wantMaster: "m", wantTLS: true},
		{name: "cluster scheme, one seed", url: "rediss+cluster://:pw@cfg.example.com:6379",
			wantMode: modeCluster, wantAddrs: []string{"cfg.example.com:6379"}, wantTLS: true, wantPassword: "pw"},
		{name: "cluster scheme, several seeds", url: "redis+cluster://n1:7000?addr=n2:7001&addr=n3:7002",
			wantMode: modeCluster, wantAddrs: []string{"n1:7000", "n2:7001", "n3:7002"}},
		{name: "cluster by addr", url: "redis://n1:7000?addr=n2:7001",
			wantMode: modeCluster, wantAddrs: []string{"n1:7000", "n2:7001"}},
		{name: "scheme is case-insensitive", url: "REDIS+CLUSTER://n1:7000",
			wantMode: modeCluster, wantAddrs: []string{"n1:7000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target, err := parseRedisURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			got := describeTarget(target)
			want := targetSummary{mode: tc.wantMode, addrs: tc.wantAddrs, db: tc.wantDB, tls: tc.wantTLS,
				master: tc.wantMaster, password: tc.wantPassword, sentinelPassword: tc.wantSentPass}
			if !slices.Equal(got.addrs, want.addrs) || got.mode != want.mode || got.db != want.db ||
				got.tls != want.tls || got.master != want.master || got.password != want.password ||
				got.sentinelPassword != want.sentinelPassword {
				t.Fatalf("parsed %+v, want %+v", got, want)
			}
		})
	}
}

func TestParseRedisURLErrorsNeverContainThePassword(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{name: "http scheme", url: "http://:hunter2@h", wantErr: "unsupported scheme"},
		{name: "unknown mode", url: "redis+ring://:hunter2@h", wantErr: "unsupported scheme"},
		{name: "unix with a mode", url: "unix+cluster:///s", wantErr: "unsupported scheme"},
		{name: "sentinel without master_name", url: "redis+sentinel://:hunter2@s1:26379", wantErr: "master_name is required"},
		{name: "bad database", url: "redis://:hunter2@h/notanumber", wantErr: "invalid database"},
		{name: "unknown option", url: "redis://:hunter2@h?bogus=1", wantErr: "unexpected option"},
		{name: "password in the query of a single node", url: "redis://h?password=hunter2", wantErr: "unexpected option"},
		{name: "bad escape in the password", url: "redis://:hunter2%zz@h", wantErr: "not a valid URL"},
		{name: "bad port", url: "redis://:hunter2@h:port", wantErr: "not a valid URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRedisURL(tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseRedisURL = %v, want an error with %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error %q contains the password", err)
			}
		})
	}
}

// TestRedisClientIsBoundedByOpTimeout: a dead Redis must fail fast, whatever the URL
// asks for, and context deadlines must reach the sockets.
func TestRedisClientIsBoundedByOpTimeout(t *testing.T) {
	const op = time.Second
	tests := []struct {
		name        string
		url         string
		wantRetries int
	}{
		{name: "defaults", url: "redis://h", wantRetries: defaultMaxRetries},
		{name: "long timeouts capped", url: "redis://h?dial_timeout=30s&read_timeout=1m&write_timeout=-1&pool_timeout=9s", wantRetries: defaultMaxRetries},
		{name: "explicit retries kept", url: "redis://h?max_retries=3", wantRetries: 3},
		{name: "sentinel", url: "redis+sentinel://s?master_name=m&dial_timeout=10s", wantRetries: defaultMaxRetries},
		{name: "cluster", url: "redis+cluster://n?read_timeout=10s", wantRetries: defaultMaxRetries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target, err := parseRedisURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			target.tighten(op)
			l := target.limits()
			for name, d := range map[string]time.Duration{"dial": *l.dial, "read": *l.read, "write": *l.write, "pool": *l.pool} {
				if d <= 0 || d > op {
					t.Errorf("%s timeout = %v, want in (0, %v]", name, d, op)
				}
			}
			if *l.retries != tc.wantRetries || *l.dialRetries != defaultDialerRetries || !*l.contextTimeout {
				t.Errorf("retries=%d dialRetries=%d contextTimeout=%v", *l.retries, *l.dialRetries, *l.contextTimeout)
			}
		})
	}
}

type targetSummary struct {
	mode                               redisMode
	addrs                              []string
	db                                 int
	tls                                bool
	master, password, sentinelPassword string
}

func describeTarget(t redisTarget) targetSummary {
	switch {
	case t.failover != nil:
		o := t.failover
		return targetSummary{t.mode, o.SentinelAddrs, o.DB, o.TLSConfig != nil, o.MasterName, o.Password, o.SentinelPassword}
	case t.cluster != nil:
		o := t.cluster
		return targetSummary{t.mode, o.Addrs, 0, o.TLSConfig != nil, "", o.Password, ""}
	default:
		o := t.single
		return targetSummary{t.mode, []string{o.Addr}, o.DB, o.TLSConfig != nil, "", o.Password, ""}
	}
}
