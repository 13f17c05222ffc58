package plugsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// gen2Routes are a Shelly Plus Plug S's (Gen2) API: GET /shelly (always
// open) and JSON-RPC 2.0 over POST /rpc, behind SHA-256 digest auth when a
// password is set.
func (p *Plug) gen2Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /shelly", func(w http.ResponseWriter, r *http.Request) {
		var domain any
		if p.opts.Password != "" {
			domain = p.id
		}
		writeJSON(w, map[string]any{
			"name": nil, "id": p.id, "mac": "A8032AB00001", "slot": 0, "model": "SNPL-00112EU",
			"gen": 2, "fw_id": "20241011-114455/1.4.4-g6d2a586", "ver": "1.4.4", "app": "PlugS",
			"auth_en": p.opts.Password != "", "auth_domain": domain,
		})
	})
	mux.HandleFunc("POST /rpc", p.digest(p.rpc))
}

type rpcRequest struct {
	ID     any             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (p *Plug) rpc(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	var req rpcRequest
	if err != nil || json.Unmarshal(body, &req) != nil {
		http.Error(w, `{"code":-32700,"message":"Parse error"}`, http.StatusBadRequest)
		return
	}
	var params struct {
		ID          *int     `json:"id"`
		On          *bool    `json:"on"`
		ToggleAfter *float64 `json:"toggle_after"`
	}
	if len(req.Params) > 0 && string(req.Params) != "null" {
		json.Unmarshal(req.Params, &params)
	}
	result, code, msg := p.call(req.Method, params.ID, params.On, params.ToggleAfter)
	answer := map[string]any{"id": req.ID, "src": p.id}
	if code != 0 {
		answer["error"] = map[string]any{"code": code, "message": msg}
	} else {
		answer["result"] = result
	}
	writeJSON(w, answer)
}

// call carries out one RPC method; code and msg are a JSON-RPC error.
func (p *Plug) call(method string, id *int, on *bool, toggleAfter *float64) (result any, code int, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	switch method {
	case "Shelly.GetStatus":
		st := map[string]any{"sys": map[string]any{"mac": "A8032AB00001", "uptime": 1234}}
		for i, rl := range p.relays {
			st[fmt.Sprintf("switch:%d", i)] = gen2Switch(i, rl, now)
		}
		return st, 0, ""
	case "Shelly.GetDeviceInfo":
		return map[string]any{"id": p.id, "model": "SNPL-00112EU", "gen": 2, "ver": "1.4.4", "app": "PlugS"}, 0, ""
	case "Switch.GetStatus", "Switch.Set":
	default:
		return nil, 404, fmt.Sprintf("No handler for %s", method)
	}
	if id == nil {
		return nil, -103, "Missing required argument 'id'!"
	}
	rl := p.relay(*id + 1)
	if rl == nil {
		return nil, -105, fmt.Sprintf("Argument 'id', value %d not found!", *id)
	}
	if method == "Switch.GetStatus" {
		return gen2Switch(*id, rl, now), 0, ""
	}
	if on == nil {
		return nil, -103, "Missing required argument 'on'!"
	}
	was := rl.on
	rl.cancelTimer()
	rl.set(*on, now)
	rl.commands++
	if toggleAfter != nil && *toggleAfter > 0 {
		p.flipAfter(rl, time.Duration(*toggleAfter*float64(time.Second)))
	}
	return map[string]any{"was_on": was}, 0, ""
}

func gen2Switch(id int, rl *relay, now time.Time) map[string]any {
	rl.count(now)
	w := rl.power()
	m := map[string]any{
		"id": id, "source": "HTTP_in", "output": rl.on, "apower": w, "voltage": 230.0,
		"current": w / 230, "freq": 50.0,
		"aenergy":     map[string]any{"total": rl.joules / 3600, "by_minute": []float64{0, 0, 0}, "minute_ts": now.Unix()},
		"temperature": map[string]any{"tC": 41.2, "tF": 106.2},
	}
	if rl.timer != nil {
		m["timer_started_at"] = float64(rl.timerEnd.Add(-rl.timerDur).UnixMilli()) / 1000
		m["timer_duration"] = rl.timerDur.Seconds()
	}
	return m
}
