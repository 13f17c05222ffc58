package telemetry

import "github.com/prometheus/client_golang/prometheus"

// NewFleetCollector is the live-readings collector alone, for the tests of
// package telemetry_test.
func NewFleetCollector(f PolledFleet) prometheus.Collector {
	return fleetCollector{func() PolledFleet { return f }}
}

// ShutdownReasons are the values of the shutdown counters' reason label.
var ShutdownReasons = shutdownReasons
