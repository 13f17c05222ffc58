package main

import (
	"context"
	"io"

	"github.com/powerbridge/powerbridge/cmd/powerbridge/internal/gateway"
)

// gatewayCmd hands over to the gateway helper, which reads only the
// config's gateway: section (a gateway-only file needs no auth or PDUs).
func gatewayCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return gateway.Main(ctx, args, nil, "", stdout, stderr)
}
