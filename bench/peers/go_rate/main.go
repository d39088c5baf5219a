// Peer for bench_ratelimit: golang.org/x/time/rate limiters, one per key,
// in a map behind a mutex (how Go services usually keep per-key limiters).
// Built offline from Debian's golang-golang-x-time-dev:
//   GO111MODULE=off GOPATH=/usr/share/gocode go run .
// Prints "keys threads ns_per_op" lines, measured like bench_ratelimit.c:
// wall time per operation across all goroutines.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const ops = 4000000

type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (l *limiters) allow(key string) bool {
	l.mu.Lock()
	lim, ok := l.m[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(1000000), 1000000)
		l.m[key] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

func run(keys, threads int, names []string) float64 {
	l := &limiters{m: make(map[string]*rate.Limiter, keys)}
	for i := 0; i < keys; i++ {
		l.allow(names[i])
	}
	var wg sync.WaitGroup
	start := time.Now()
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(seed uint32) {
			defer wg.Done()
			x := seed
			for i := 0; i < ops/threads; i++ {
				x = x*1103515245 + 12345
				k := 0
				if keys > 1 {
					k = int((x >> 4) % uint32(keys))
				}
				l.allow(names[k])
			}
		}(uint32(99 + t))
	}
	wg.Wait()
	return float64(time.Since(start).Nanoseconds()) / ops
}

func main() {
	runtime.GOMAXPROCS(2)
	names := make([]string, 1000000)
	for i := range names {
		names[i] = fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
	}
	for _, keys := range []int{1, 10000, 1000000} {
		for threads := 1; threads <= 2; threads++ {
			fmt.Printf("%d %d %.2f\n", keys, threads, run(keys, threads, names))
		}
	}
}
