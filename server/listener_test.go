package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The answers net/http writes by itself are JSON errors with a
// Content-Length, each with its status code; handlers' answers go through
// unchanged.
func TestListenerAnswersNetHTTPErrorsAsJSON(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1024
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			io.WriteString(w, "handler")
		}),
		MaxHeaderBytes: limit,
	}
	go srv.Serve(Listener(ln, limit))
	defer srv.Close()

	for _, tc := range []struct {
		name, request string
		code          int
		msg           string // in the JSON error; "" for the handler's answer
	}{
		{"headers too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", limit+5000) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, "the request's headers are too large: at most 1024 bytes are read"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", http.StatusBadRequest, "Bad Request: missing required Host header"},
		{"garbage", "NOT HTTP\r\n\r\n", http.StatusBadRequest, "Bad Request"},
		{"transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zip\r\n\r\n", http.StatusNotImplemented, "Unsupported transfer encoding"},
		{"handler", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go io.WriteString(c, tc.request) // the server may answer before it has read it all
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code {
				t.Errorf("%d %q, want %d", resp.StatusCode, body, tc.code)
			}
			if tc.msg == "" {
				if string(body) != "handler" {
					t.Errorf("the handler's answer became %q", body)
				}
				return
			}
			if n, err := strconv.Atoi(resp.Header.Get("Content-Length")); err != nil || n != len(body) {
				t.Errorf("Content-Length %q for a body of %d bytes", resp.Header.Get("Content-Length"), len(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil || e.Error != tc.msg {
				t.Errorf("body %q, want the JSON error %q", body, tc.msg)
			}
		})
	}
}
