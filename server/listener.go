package server

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Listener wraps ln so that the answers net/http writes by itself, before
// any handler sees the request, are JSON errors with a Content-Length like
// every other answer: 431 to headers over maxHeaderBytes, 400 to a request
// it cannot parse, 501 to an unknown transfer coding. net/http writes them
// as plain text with neither a length nor chunking, which MAAS's HTTP client
// fails on, and offers no hook to change them; they are recognised on the
// connection by their exact shape and written again.
//
// For HTTPS, wrap the TLS listener (the connections net/http serves), not
// the TCP one under it.
func Listener(ln net.Listener, maxHeaderBytes int) net.Listener {
	return &jsonErrorListener{Listener: ln, maxHeaderBytes: maxHeaderBytes}
}

type jsonErrorListener struct {
	net.Listener
	maxHeaderBytes int
}

func (l *jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c, maxHeaderBytes: l.maxHeaderBytes}, nil
}

type jsonErrorConn struct {
	net.Conn
	maxHeaderBytes int
	handshake      sync.Once
}

// Read does a TLS connection's handshake first, as net/http does with a
// *tls.Conn it sees itself, so that a client speaking plain HTTP to the
// HTTPS port is told so (as JSON) rather than cut off.
func (c *jsonErrorConn) Read(p []byte) (int, error) {
	var err error
	c.handshake.Do(func() {
		tc, ok := c.Conn.(*tls.Conn)
		if !ok {
			return
		}
		err = tc.Handshake()
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil {
			body := `{"error":"client sent an HTTP request to an HTTPS server"}` + "\n"
			fmt.Fprintf(re.Conn, "HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			re.Conn.Close()
		}
	})
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// bareErrorHeaders are the headers of net/http's own error answers
// (net/http/server.go, conn.serve), each written whole in one Write.
const bareErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	if b, ok := c.rewrite(p); ok {
		if _, err := c.Conn.Write(b); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite lets net/http half-close the connection after a 431, as it
// does with a bare TCP connection, so that the client reads the answer
// before the connection goes.
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// rewrite turns one of net/http's own error answers into a JSON one; ok is
// false for anything else, which is written as it is.
func (c *jsonErrorConn) rewrite(p []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if len(p) > 1024 || !bytes.HasPrefix(p, []byte(proto)) {
		return nil, false
	}
	i := bytes.Index(p, []byte(bareErrorHeaders))
	if i < 0 || bytes.IndexByte(p[:i], '\n') >= 0 || i < len(proto)+3 {
		return nil, false
	}
	code, err := strconv.Atoi(string(p[len(proto) : len(proto)+3]))
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	msg := string(p[i+len(bareErrorHeaders):])
	msg = strings.TrimPrefix(msg, strconv.Itoa(code)+" ") // "400 Bad Request: …"
	if code == http.StatusRequestHeaderFieldsTooLarge {
		msg = fmt.Sprintf("the request's headers are too large: at most %d bytes are read", c.maxHeaderBytes)
	}
	body, _ := json.Marshal(map[string]string{"error": msg})
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body), true
}
