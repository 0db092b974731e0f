package main

import (
	"net/url"
	"path/filepath"
	"strconv"
)

// bffInstance is one BFF subprocess: the binary under test ("bff") or the alternative it is
// compared with in the same interleaved run ("bff-alt": another build, log level or pool
// size), each with its own listener, config, session key and logged-in session.
type bffInstance struct {
	name, bin, logLevel string
	cacheTTL            string // session.cacheTTL; "" the BFF's default
	redisPool           int
	profile             string // directory for bffprof's profiles; "" none

	addr, admin string
	proc        *proc
	cookie      string   // the first session's cookie (wrk, one-session runs)
	cookies     []string // every logged-in session's cookie (-sessions)
}

func (bi *bffInstance) pickAddrs() error {
	var err error
	if bi.addr, err = freeAddr(); err != nil {
		return err
	}
	bi.admin, err = freeAddr()
	return err
}

// args is bff's command line; bffprof accepts it too, plus the profile flags.
func (bi *bffInstance) args(cfg string) []string {
	args := []string{"serve", "--config", cfg}
	if bi.profile != "" {
		args = append(args,
			"-cpuprofile", filepath.Join(bi.profile, "cpu.pprof"),
			"-memprofile", filepath.Join(bi.profile, "allocs.pprof"))
	}
	return args
}

// withPoolSize sets go-redis's pool_size option on a Redis URL when n > 0.
func withPoolSize(raw string, n int) string {
	if n <= 0 {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw // openRedis already refused it
	}
	q := u.Query()
	q.Set("pool_size", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}
