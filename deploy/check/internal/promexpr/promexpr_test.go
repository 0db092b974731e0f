package promexpr_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tokenward/bff/deploy/check/internal/promexpr"
)

func TestSelectors(t *testing.T) {
	type sel = promexpr.Selector
	type m = promexpr.Matcher
	tests := []struct {
		name string
		expr string
		want []sel
		err  bool
	}{
		{name: "a bare metric", expr: "up == 0", want: []sel{{Metric: "up"}}},
		{name: "matchers of every operator", expr: `bff_logins_total{job="a",outcome=~"x|y", code!="200", route !~ 'b.*'}`,
			want: []sel{{Metric: "bff_logins_total", Matchers: []m{{"job", "=", "a"}, {"outcome", "=~", "x|y"}, {"code", "!=", "200"}, {"route", "!~", "b.*"}}}}},
		{name: "functions, ranges and aggregations are not metrics",
			expr: `sum by (route) (rate(bff_http_requests_total{code=~"502|504"}[5m])) > 1`,
			want: []sel{{Metric: "bff_http_requests_total", Matchers: []m{{"code", "=~", "502|504"}}}}},
		{name: "grouping labels after the aggregation, and binary matching",
			expr: `sum(rate(a_total[5m])) without (instance) / on(job) group_left(version) b_info`,
			want: []sel{{Metric: "a_total"}, {Metric: "b_info"}}},
		{name: "numbers with exponents are not identifiers", expr: `a / clamp_min(b, 1e-9) > 0.2`,
			want: []sel{{Metric: "a"}, {Metric: "b"}}},
		{name: "histogram quantile over buckets", expr: `histogram_quantile(0.99, sum by (le) (rate(x_bucket{op="get"}[5m])))`,
			want: []sel{{Metric: "x_bucket", Matchers: []m{{"op", "=", "get"}}}}},
		{name: "a string argument is not a metric", expr: `label_replace(a, "dst", "$1", "src", "(.*)")`,
			want: []sel{{Metric: "a"}}},
		{name: "keywords and offsets", expr: `a and b unless c offset 5m or d`,
			want: []sel{{Metric: "a"}, {Metric: "b"}, {Metric: "c"}, {Metric: "d"}}},
		{name: "a subquery", expr: `max_over_time(rate(a[1m])[10m:1m])`, want: []sel{{Metric: "a"}}},
		{name: "a comment", expr: "a # b\n + c", want: []sel{{Metric: "a"}, {Metric: "c"}}},
		{name: "a selector without a name is refused", expr: `{job="x"}`, err: true},
		{name: "an unterminated matcher is refused", expr: `a{job="x"`, err: true},
		{name: "an unterminated string is refused", expr: `a{job="x}`, err: true},
		{name: "unbalanced parentheses are refused", expr: `sum(rate(a[5m])`, err: true},
		{name: "a matcher without an operator is refused", expr: `a{job}`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := promexpr.Selectors(tt.expr)
			if tt.err {
				if !errors.Is(err, promexpr.ErrSyntax) {
					t.Fatalf("Selectors = %+v, %v; want ErrSyntax", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Selectors = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// Any input gives selectors or ErrSyntax, never a panic or another error.
func FuzzSelectors(f *testing.F) {
	for _, s := range []string{`up == 0`, `sum by (route) (rate(a{b=~"c|d"}[5m])) > 1e-9`, `a{b="\"}`, `1e`, `.5`, `x[`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := promexpr.Selectors(expr); err != nil && !errors.Is(err, promexpr.ErrSyntax) {
			t.Fatalf("Selectors(%q): %v", expr, err)
		}
	})
}
