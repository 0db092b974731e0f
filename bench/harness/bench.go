package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/redis/go-redis/v9"
)

// bench is one run: the stack it started and what it counted.
type bench struct {
	o   options
	out io.Writer
	dir string

	rdb        *redis.Client
	keysBefore map[string]bool
	op         *opServer
	// clientSecret is the bench client's secret at the OP (the reference token flow).
	clientSecret string
	bffs         []*bffInstance // "bff", and "bff-alt" with -bff-alt
	plainProc    *proc
	plainAddr    string
	targets      []Target
	logs         []*os.File

	logins []loginPhase // each BFF's login phase

	// Redis calls during the windows of each BFF, and the requests sent in them.
	storeCalls map[string]map[string]uint64
	bffSent    map[string]uint64
}

func (b *bench) setup(ctx context.Context) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "tokenward-bench-"); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	if b.rdb, err = openRedis(ctx, b.o.redisURL); err != nil {
		return err
	}
	if b.keysBefore, err = bffKeys(ctx, b.rdb); err != nil {
		return err
	}
	if err := b.startBFFs(ctx); err != nil {
		return err
	}
	if err := b.startPlain(); err != nil {
		return err
	}
	b.targets = b.buildTargets()
	return nil
}

// startBFFs starts the OP (one client, a redirect URI per BFF), then each BFF, and logs in
// at each.
func (b *bench) startBFFs(ctx context.Context) error {
	b.bffs = []*bffInstance{{name: targetBFF, bin: b.o.bffBin, logLevel: b.o.logLevel, cacheTTL: b.o.cacheTTL,
		redisPool: b.o.redisPool, profile: b.o.profileDir}}
	if b.o.altBin != "" {
		b.bffs = append(b.bffs, &bffInstance{name: targetAlt, bin: b.o.altBin, logLevel: b.o.altLogLevel,
			cacheTTL: b.o.altCacheTTL, redisPool: b.o.altRedisPool})
	}
	var publicURLs []string
	for _, bi := range b.bffs {
		if err := bi.pickAddrs(); err != nil {
			return err
		}
		publicURLs = append(publicURLs, "http://"+bi.addr)
	}
	secret, err := randomString(24)
	if err != nil {
		return err
	}
	b.clientSecret = secret
	if b.op, err = startOP(publicURLs, secret, b.o.tokenLifetime); err != nil {
		return err
	}
	for _, bi := range b.bffs {
		if err := b.startBFF(ctx, bi, secret); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) startBFF(ctx context.Context, bi *bffInstance, secret string) error {
	cfg, err := writeBFFConfig(b.dir, bi.name, bffSetup{
		listen: bi.addr, admin: bi.admin, issuer: b.op.issuer, secret: secret,
		redisURL: withPoolSize(b.o.redisURL, bi.redisPool), upstream: b.o.upstream, logLevel: bi.logLevel,
		cacheTTL: bi.cacheTTL,
	})
	if err != nil {
		return err
	}
	logf, err := b.logFile(bi.name + ".log")
	if err != nil {
		return err
	}
	if bi.proc, err = startProc(procSpec{name: bi.name, bin: bi.bin, args: bi.args(cfg), cpus: b.o.proxyCPUs, log: logf}); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+bi.admin+"/readyz", readyTimeout, bi.proc); err != nil {
		return err
	}
	return b.loginAll(ctx, bi)
}

// logFile creates a log file in the work directory, closed by teardown.
func (b *bench) logFile(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(b.dir, name))
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	b.logs = append(b.logs, f)
	return f, nil
}

func (b *bench) startPlain() error {
	logf, err := b.logFile("plainproxy.log")
	if err != nil {
		return err
	}
	b.plainProc, b.plainAddr, err = startListeningProc(procSpec{
		name: "plainproxy", bin: b.o.plainBin, cpus: b.o.proxyCPUs, log: logf,
		args: []string{"-listen", "127.0.0.1:0", "-upstream", b.o.upstream, "-strip", "/api"},
	}, readyTimeout)
	return err
}

// teardown stops what setup started and deletes the run's Redis keys. The work directory
// (configs with the secrets, logs) is removed unless -keep or the run failed.
func (b *bench) teardown(ctx context.Context, failed bool) {
	for _, bi := range b.bffs {
		bi.proc.stop()
	}
	b.plainProc.stop()
	for _, f := range b.logs {
		_ = f.Close()
	}
	if b.op != nil {
		b.op.close()
	}
	if b.rdb != nil && b.keysBefore != nil {
		if n, err := deleteNewKeys(ctx, b.rdb, b.keysBefore); err != nil {
			fmt.Fprintln(os.Stderr, "harness: cleaning Redis:", err)
		} else {
			fmt.Fprintf(b.out, "deleted the run's %d Redis key(s)\n", n)
		}
		_ = b.rdb.Close()
	}
	if b.dir == "" {
		return
	}
	if b.o.keep || failed {
		fmt.Fprintf(os.Stderr, "harness: work directory kept: %s\n", b.dir)
		return
	}
	_ = os.RemoveAll(b.dir)
}
