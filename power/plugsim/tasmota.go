package plugsim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tasmotaRoutes are Tasmota's command API: GET /cm?cmnd=<command>, with
// user= and password= when a password is set. It knows Power<n> [On|Off|
// Toggle|1|0|2], Status 0, Status 8, Status 11 and Backlog (with Delay).
func (p *Plug) tasmotaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /cm", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if p.opts.Password != "" && (subtle.ConstantTimeCompare([]byte(q.Get("user")), []byte(p.opts.User)) != 1 ||
			subtle.ConstantTimeCompare([]byte(q.Get("password")), []byte(p.opts.Password)) != 1) {
			p.mu.Lock()
			p.authFail++
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"WARNING":"Need user=<username>&password=<password>"}`)
			return
		}
		cmd := strings.TrimSpace(q.Get("cmnd"))
		if word, rest, _ := strings.Cut(cmd, " "); strings.EqualFold(word, "Backlog") {
			p.backlog(rest)
			writeJSON(w, map[string]any{"Backlog": "Done"})
			return
		}
		p.mu.Lock()
		answer := p.tasmotaCommand(cmd, true)
		p.mu.Unlock()
		writeJSON(w, answer)
	})
}

// tasmotaCommand carries out one command; p.mu is held. counted says
// whether a switch counts as a request's (a Backlog counts once).
func (p *Plug) tasmotaCommand(cmd string, counted bool) map[string]any {
	word, arg, _ := strings.Cut(cmd, " ")
	now := time.Now()
	switch lw := strings.ToLower(word); {
	case strings.EqualFold(cmd, "Status 0"):
		return map[string]any{
			"Status": map[string]any{"Module": 0, "DeviceName": "Tasmota Sim", "FriendlyName": []string{"Tasmota"},
				"Topic": "tasmota_" + p.id, "Power": p.powerBits()},
			"StatusFWR": map[string]any{"Version": "14.2.0(release-tasmota)", "Hardware": "ESP8266EX"},
			"StatusSTS": p.tasmotaSTS(), "StatusSNS": p.tasmotaSNS(now),
		}
	case strings.EqualFold(cmd, "Status 8"), strings.EqualFold(cmd, "Status 10"):
		return map[string]any{"StatusSNS": p.tasmotaSNS(now)}
	case strings.EqualFold(cmd, "Status 11"):
		return map[string]any{"StatusSTS": p.tasmotaSTS()}
	case strings.HasPrefix(lw, "power"):
		n := 1
		if s := word[len("power"):]; s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil || p.relay(n) == nil {
				return map[string]any{"Command": "Unknown"}
			}
		}
		rl := p.relay(n)
		switch strings.ToLower(arg) {
		case "":
		case "on", "1":
			rl.set(true, now)
		case "off", "0":
			rl.set(false, now)
		case "toggle", "2":
			rl.set(!rl.on, now)
		default:
			return map[string]any{"Command": "Error"}
		}
		if arg != "" && counted {
			rl.commands++
		}
		return map[string]any{p.powerKey(n): onOff(rl.on)}
	}
	return map[string]any{"Command": "Unknown"}
}

// backlog runs "cmd; Delay n; cmd" on the plug's own clock, as Tasmota does
// once it has the request. Its switches count as one command per relay.
func (p *Plug) backlog(list string) {
	cmds := strings.Split(list, ";")
	p.mu.Lock()
	for n := range p.relays {
		for _, c := range cmds {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(c)), "power"+strconv.Itoa(n+1)+" ") {
				p.relays[n].commands++
				break
			}
		}
	}
	p.mu.Unlock()
	var run func(i int)
	run = func(i int) {
		for ; i < len(cmds); i++ {
			c := strings.TrimSpace(cmds[i])
			if word, arg, _ := strings.Cut(c, " "); strings.EqualFold(word, "Delay") {
				tenths, _ := strconv.Atoi(arg)
				next := i + 1
				time.AfterFunc(time.Duration(tenths)*100*time.Millisecond, func() { run(next) })
				return
			}
			p.mu.Lock()
			select {
			case <-p.quit:
				p.mu.Unlock()
				return
			default:
			}
			p.tasmotaCommand(c, false)
			p.mu.Unlock()
		}
	}
	run(0)
}

func (p *Plug) powerKey(n int) string {
	if len(p.relays) == 1 {
		return "POWER"
	}
	return "POWER" + strconv.Itoa(n)
}

func (p *Plug) tasmotaSTS() map[string]any {
	sts := map[string]any{"Time": time.Now().UTC().Format("2006-01-02T15:04:05"), "Uptime": "0T00:20:34"}
	for i, rl := range p.relays {
		sts[p.powerKey(i+1)] = onOff(rl.on)
	}
	return sts
}

// tasmotaSNS is the ENERGY sensor: one number for one relay, an array (one
// per channel) for several, as Tasmota 14 writes them.
func (p *Plug) tasmotaSNS(now time.Time) map[string]any {
	var watts, kwh []float64
	for _, rl := range p.relays {
		rl.count(now)
		watts = append(watts, rl.power())
		kwh = append(kwh, rl.joules/3.6e6)
	}
	e := map[string]any{"Voltage": 230, "Factor": 0.9, "Today": 0, "Yesterday": 0}
	if len(p.relays) == 1 {
		e["Power"], e["Total"] = watts[0], kwh[0]
	} else {
		e["Power"], e["Total"] = watts, kwh
	}
	return map[string]any{"Time": now.UTC().Format("2006-01-02T15:04:05"), "ENERGY": e}
}

func (p *Plug) powerBits() string {
	var b strings.Builder
	for i := len(p.relays) - 1; i >= 0; i-- {
		b.WriteString(map[bool]string{true: "1", false: "0"}[p.relays[i].on])
	}
	return b.String()
}

func onOff(on bool) string {
	if on {
		return "ON"
	}
	return "OFF"
}
