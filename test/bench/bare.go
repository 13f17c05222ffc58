package bench

import (
	"net/http"
	"strconv"
)

// Bare is the yardstick of the status route: a net/http handler answering
// a constant body with the same headers as a status answer, and nothing else.
func Bare() http.Handler {
	body := []byte(`{"status":"running"}` + "\n")
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}
