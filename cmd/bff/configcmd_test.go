package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tokenward/bff/config"
)

func TestConfigSchemaCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []byte
		wantErr    string
	}{
		{name: "prints the schema", args: []string{"config", "schema"}, wantCode: exitOK, wantStdout: config.Schema()},
		{name: "no subcommand", args: []string{"config"}, wantCode: exitUsage, wantErr: "bff: config: want a subcommand: bff config schema"},
		{name: "unknown subcommand", args: []string{"config", "shema"}, wantCode: exitUsage, wantErr: `bff: config: unknown subcommand "shema": the one subcommand is schema`},
		{name: "no arguments after schema", args: []string{"config", "schema", "extra"}, wantCode: exitUsage, wantErr: `unexpected argument "extra"`},
		{name: "help", args: []string{"help", "config"}, wantCode: exitOK, wantErr: "usage: bff config schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(nil)
			if code := a.run(context.Background(), tt.args); code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr %q", code, tt.wantCode, a.stderr.String())
			}
			if tt.wantStdout != nil && !bytes.Equal(a.stdout.Bytes(), tt.wantStdout) {
				t.Errorf("stdout is not config.Schema(): %.200q", a.stdout.String())
			}
			if !strings.Contains(a.stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", a.stderr.String(), tt.wantErr)
			}
		})
	}
}
