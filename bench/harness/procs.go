package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a server the harness started as a subprocess. Only procs it started are ever
// signalled, by their own pid.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited; waitErr is set then
	// waitErr is cmd.Wait's result; read it only after done is closed.
	waitErr error
}

// procSpec says how to start one.
type procSpec struct {
	name string
	bin  string
	args []string
	// cpus, when set, runs the process under `taskset -c cpus` (taskset execs the
	// program: the pid is the program's).
	cpus string
	// log receives stderr (and stdout unless stdout is read). It is written from two
	// goroutines at once and MUST be safe for that (an *os.File is).
	log io.Writer
}

func (s procSpec) command() *exec.Cmd {
	if s.cpus == "" {
		return exec.Command(s.bin, s.args...)
	}
	return exec.Command("taskset", append([]string{"-c", s.cpus, s.bin}, s.args...)...)
}

// startProc starts s with its output going to s.log.
func startProc(s procSpec) (*proc, error) {
	cmd := s.command()
	cmd.Stdout, cmd.Stderr = s.log, s.log
	return launch(s.name, cmd)
}

// startListeningProc starts s and waits (at most timeout) for its first stdout line,
// "listening on http://ADDR", and returns ADDR. The rest of stdout goes to s.log.
func startListeningProc(s procSpec, timeout time.Duration) (*proc, string, error) {
	cmd := s.command()
	cmd.Stderr = s.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", s.name, err)
	}
	p, err := launch(s.name, cmd)
	if err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		br := bufio.NewReaderSize(out, 4096)
		line, _ := br.ReadSlice('\n') // bounded by the buffer: a line of at most 4 KiB
		addr <- strings.TrimPrefix(strings.TrimSpace(string(line)), "listening on http://")
		_, _ = io.Copy(s.log, br) // the rest goes to the log, so the child never blocks on a full pipe
	}()
	select {
	case a := <-addr:
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.stop()
			return nil, "", fmt.Errorf("%s: no address on its first line", s.name)
		}
		return p, a, nil
	case <-time.After(timeout):
		p.stop()
		return nil, "", fmt.Errorf("%s: not listening after %v", s.name, timeout)
	}
}

func launch(name string, cmd *exec.Cmd) (*proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM, waits up to 20 s for a graceful exit (profiles are written then),
// and kills the process if it is still there.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		fmt.Fprintf(os.Stderr, "harness: %s did not stop within 20s; killing it\n", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports, without waiting, whether the process has exited (a crash at startup,
// or after stop), with how.
func (p *proc) exited() error {
	select {
	case <-p.done:
		err := p.waitErr
		if err == nil {
			err = errors.New("exited")
		}
		return fmt.Errorf("%s: %w", p.name, err)
	default:
		return nil
	}
}

// freeAddr returns a loopback address that was free a moment ago (the BFF's public URL
// must be known before it starts, so its port is chosen here).
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitHTTP polls GETs of target until one answers 200, for at most timeout, and stops
// early when p exits.
func waitHTTP(ctx context.Context, target string, timeout time.Duration, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if err := getOK(ctx, target); err == nil {
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", target, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ: 100 on every Linux
// architecture Go supports).
const userHZ = 100

// cpuTime is the CPU (user + system, every thread) the process has used so far, from
// /proc/PID/stat; 0 and an error where that is not available.
func (p *proc) cpuTime() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("%s cpu: %w", p.name, err)
	}
	return parseProcStatCPU(string(data))
}

// parseProcStatCPU reads utime and stime (fields 14 and 15) of a /proc/PID/stat line. The
// command name (field 2) may hold spaces and parentheses, so fields are counted after
// its last ')'.
func parseProcStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command field")
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 and 15: f[0] is field 3
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
