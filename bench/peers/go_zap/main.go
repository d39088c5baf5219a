// Peer for bench_log: zap's production JSON encoder writing to /dev/null,
// the two shapes of bench_log.c: a message with 10 fields at the call site,
// and a logger with 10 bound fields plus one call-site field.
// Built offline from Debian's golang-go.uber-zap-dev:
//   GO111MODULE=off GOPATH=/usr/share/gocode go run .
// Prints "shape ns_per_event allocs_per_event" lines, unbuffered and
// buffered ("_buffered").
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const n = 500000

// buffered: zap's BufferedWriteSyncer (256 kB, flushed when full or every
// 30 s), the way to take the write(2) off each event in zap.
func logger(buffered bool) (*zap.Logger, func()) {
	f, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	var ws zapcore.WriteSyncer = zapcore.AddSync(f)
	stop := func() {}
	if buffered {
		b := &zapcore.BufferedWriteSyncer{WS: ws}
		ws = b
		stop = func() { _ = b.Stop() }
	}
	return zap.New(zapcore.NewCore(enc, ws, zap.InfoLevel)), stop
}

func fields() []zap.Field {
	return []zap.Field{
		zap.Int("int", 42), zap.String("user", "alice@example.com"), zap.Bool("ok", true),
		zap.Float64("ratio", 0.25), zap.String("path", "/api/v1/users/42"),
		zap.Int64("bytes", 123456), zap.String("method", "GET"), zap.Int("status", 200),
		zap.String("request_id", "4bf92f3577b34da6"), zap.Duration("elapsed", 1500*time.Microsecond),
	}
}

func measure(name string, fn func()) {
	for i := 0; i < 10000; i++ {
		fn()
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for i := 0; i < n; i++ {
		fn()
	}
	el := time.Since(start)
	runtime.ReadMemStats(&m1)
	fmt.Printf("%s %.1f %.2f\n", name, float64(el.Nanoseconds())/n, float64(m1.Mallocs-m0.Mallocs)/n)
}

func main() {
	runtime.GOMAXPROCS(1)
	for _, buffered := range []bool{false, true} {
		suffix := ""
		if buffered {
			suffix = "_buffered"
		}
		l, stop := logger(buffered)
		measure("ten_fields"+suffix, func() { l.Info("request served", fields()...) })
		child := l.With(fields()...)
		measure("ten_bound_plus_one"+suffix, func() { child.Info("request served", zap.Int("attempt", 1)) })
		stop()
	}
	// bench_log's attacker shape: one 4 KB string ("password=x " repeated)
	// and a status, unbuffered.
	attacker := strings.Repeat("password=x ", 4095/11)
	l, _ := logger(false)
	measure("attacker_4k", func() {
		l.Info("request rejected", zap.String("user_agent", attacker), zap.Int("status", 400))
	})
}
