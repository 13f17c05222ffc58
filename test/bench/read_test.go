package bench

import (
	"context"
	"testing"
	"time"

	"github.com/powerbridge/powerbridge/power/apc"
	"github.com/powerbridge/powerbridge/power/snmp"
)

// BenchmarkDriverRead is one read of every outlet of a simulated PDU by the
// APC driver over SNMP v1 on loopback: what each poll costs powerbridge.
func BenchmarkDriverRead(b *testing.B) {
	for _, model := range []string{"ap7900", "ap8941"} {
		b.Run("model="+model, func(b *testing.B) {
			sims, err := StartSims(SimConfig{Count: 1, Model: model})
			if err != nil {
				b.Fatal(err)
			}
			defer CloseSims(sims)
			drv, err := apc.New(apc.Config{Config: snmp.Config{Address: sims[0].Agent.Addr(), Version: "1", Community: WriteCommunity, Timeout: 2 * time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			defer drv.Close()
			ctx := context.Background()
			if _, err := drv.Read(ctx); err != nil { // detection, once
				b.Fatal(err)
			}
			before := Requests(sims)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := drv.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(Requests(sims)-before)/float64(b.N), "snmp-req/op")
		})
	}
}
