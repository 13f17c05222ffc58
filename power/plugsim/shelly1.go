package plugsim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// gen1Routes are a Shelly Plug S's (Gen1) API: GET /shelly (always open),
// /status, /relay/<id>?turn=on|off|toggle[&timer=S], Basic auth when a
// password is set.
func (p *Plug) gen1Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /shelly", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"type": "SHPLG-S", "mac": "C45BBE000001", "auth": p.opts.Password != "",
			"fw": "20230913-114244/v1.14.0-gcb84623", "discoverable": false,
			"num_outputs": len(p.relays), "num_meters": len(p.relays),
		})
	})
	mux.HandleFunc("GET /status", p.basic(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		now := time.Now()
		var relays, meters []any
		for _, rl := range p.relays {
			rl.count(now)
			relays = append(relays, gen1Relay(rl, now))
			meters = append(meters, map[string]any{
				"power": rl.power(), "overpower": 0, "is_valid": true, "timestamp": now.Unix(),
				"counters": []float64{0, 0, 0}, "total": int(rl.joules / 60), // watt-minutes
			})
		}
		writeJSON(w, map[string]any{"relays": relays, "meters": meters, "uptime": 1234})
	}))
	mux.HandleFunc("GET /relay/{id}", p.basic(p.gen1Relay))
}

func (p *Plug) gen1Relay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	p.mu.Lock()
	defer p.mu.Unlock()
	rl := p.relay(id + 1)
	if err != nil || rl == nil {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	now := time.Now()
	q := r.URL.Query()
	if turn := q.Get("turn"); turn != "" {
		on := rl.on
		switch turn {
		case "on":
			on = true
		case "off":
			on = false
		case "toggle":
			on = !on
		default:
			http.Error(w, "Bad turn!", http.StatusBadRequest)
			return
		}
		rl.cancelTimer()
		rl.set(on, now)
		rl.commands++
		if t := q.Get("timer"); t != "" {
			if s, err := strconv.ParseFloat(t, 64); err == nil && s > 0 {
				p.flipAfter(rl, time.Duration(s*float64(time.Second)))
			}
		}
	}
	writeJSON(w, gen1Relay(rl, now))
}

func gen1Relay(rl *relay, now time.Time) map[string]any {
	m := map[string]any{"ison": rl.on, "has_timer": rl.timer != nil, "timer_started": 0, "timer_duration": 0,
		"timer_remaining": 0, "overpower": false, "source": "http"}
	if rl.timer != nil {
		m["timer_started"] = rl.timerEnd.Add(-rl.timerDur).Unix()
		m["timer_duration"] = rl.timerDur.Seconds()
		m["timer_remaining"] = max(0, int(rl.timerEnd.Sub(now).Seconds()))
	}
	return m
}

// basic guards a Gen1 route with Basic auth when a password is set.
func (p *Plug) basic(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.opts.Password != "" {
			u, pw, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(p.opts.User)) != 1 ||
				subtle.ConstantTimeCompare([]byte(pw), []byte(p.opts.Password)) != 1 {
				p.mu.Lock()
				p.authFail++
				p.mu.Unlock()
				w.Header().Set("WWW-Authenticate", `Basic realm="`+p.id+`"`)
				http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
				return
			}
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
