package bench

import (
	"context"
	"sync"
	"sync/atomic"
)

// Hold logs in creds (bounded concurrency) and keeps the connections idle
// until ctx ends. ready is called once with the number that logged in and
// the first error seen, if any; connections that fail are not retried, so
// the count shows how many the server admitted.
func Hold(ctx context.Context, url string, creds []Cred, ready func(n int, err error)) {
	var (
		n        atomic.Int64
		mu       sync.Mutex
		firstErr error
		clients  = make([]*client, len(creds))
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 64)
	)
	for i, cr := range creds {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := dial(ctx, url, cr.Account, cr.Token, nil)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			clients[i] = c
			n.Add(1)
		}()
	}
	wg.Wait()
	ready(int(n.Load()), firstErr)
	<-ctx.Done()
	for _, c := range clients {
		if c != nil {
			c.close()
		}
	}
}
