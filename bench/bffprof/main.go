// Command bffprof is `bff serve --config FILE` with profiling: the same bff.New and Run
// (cmd/bff's serve is exactly those two calls), wrapped in a CPU profile and followed by
// an allocation profile, both written when it stops (SIGINT/SIGTERM). bench/run builds it
// for `bench/run -profile`; it is never shipped.
//
//	bffprof [serve] --config bff.yaml -cpuprofile cpu.pprof -memprofile allocs.pprof
//
// Read the profiles with `go tool pprof -top bffprof cpu.pprof` (the binary gives the
// symbols) and `go tool pprof -sample_index=alloc_space -top bffprof allocs.pprof`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/tokenward/bff"
	"github.com/tokenward/bff/config"
)

func main() {
	cfgFile := flag.String("config", "", "YAML configuration file (as for bff serve)")
	cpuOut := flag.String("cpuprofile", "", "write a CPU profile here")
	memOut := flag.String("memprofile", "", "write an allocation profile here")
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" { // accept bff's command line as it is
		args = args[1:]
	}
	_ = flag.CommandLine.Parse(args) // ExitOnError
	if err := run(*cfgFile, *cpuOut, *memOut); err != nil {
		fmt.Fprintln(os.Stderr, "bffprof:", err)
		os.Exit(1)
	}
}

func run(cfgFile, cpuOut, memOut string) error {
	cfg, err := config.Load(config.Source{File: cfgFile, Env: os.Environ()})
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := config.Validate(cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := bff.New(ctx, cfg, bff.WithLogger(bff.NewLogger(os.Stderr, cfg.Log)))
	if err != nil {
		return err
	}
	if cpuOut != "" {
		f, err := os.Create(cpuOut)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := srv.Run(ctx); err != nil {
		return err
	}
	if memOut != "" {
		return writeAllocs(memOut)
	}
	return nil
}

// writeAllocs writes the allocation profile (sampled since the start, MemProfileRate).
func writeAllocs(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("alloc profile: %w", err)
	}
	defer f.Close()
	runtime.GC() // the profile is of the last completed GC cycle
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("alloc profile: %w", err)
	}
	return nil
}
