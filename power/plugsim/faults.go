package plugsim

import (
	"net/http"
	"time"
)

// SetSlow makes every answer wait d before it is sent, as a plug on a weak
// Wi-Fi signal answers; 0 restores prompt answers.
func (p *Plug) SetSlow(d time.Duration) {
	p.mu.Lock()
	p.faults.slow = d
	p.mu.Unlock()
}

// DropRequests drops the connection of the next n requests before they are
// carried out: the client gets no answer and nothing happened.
func (p *Plug) DropRequests(n int) {
	p.mu.Lock()
	p.faults.dropNext = n
	p.mu.Unlock()
}

// LoseAnswers carries out the next n requests and then drops their
// connection: the client gets no answer, but the switch happened.
func (p *Plug) LoseAnswers(n int) {
	p.mu.Lock()
	p.faults.loseNext = n
	p.mu.Unlock()
}

// DropAll drops every connection without an answer until called with false,
// as a plug that hangs its web server does.
func (p *Plug) DropAll(on bool) {
	p.mu.Lock()
	p.faults.dropEvery = on
	p.mu.Unlock()
}

// faulty wraps the plug's API with its faults.
func (p *Plug) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests++
		f := p.faults
		drop := f.dropEvery || f.dropNext > 0
		lose := !drop && f.loseNext > 0
		if !f.dropEvery && f.dropNext > 0 {
			p.faults.dropNext--
		} else if lose {
			p.faults.loseNext--
		}
		p.mu.Unlock()
		if f.slow > 0 {
			select {
			case <-time.After(f.slow):
			case <-p.quit:
				return
			case <-r.Context().Done():
				return
			}
		}
		if drop {
			hangUp(w)
			return
		}
		if lose {
			next.ServeHTTP(discard{header: http.Header{}}, r)
			hangUp(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hangUp closes the connection without a byte of answer.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// discard is an answer nobody receives.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
