// Package redfish is powerbridge's Redfish face: a Redfish service under
// /redfish/v1 in which every machine is a ComputerSystem (its name is its Id
// and path segment), so that MAAS's redfish power type, OpenStack Ironic
// (sushy), Metal3, redfishtool and the like drive a PDU-powered machine as
// they drive a BMC; and every PDU is a rack PDU of PowerEquipment, whose
// outlets are read and switched as the JSON API's are.
//
// It knows the requests those clients send and what breaks them (MAAS 2.7
// and 3.8 re-send whole sequences, PATCH a PXE override with every action,
// and take a 404 badly), and nothing of how power is switched: it calls the
// domain through Fleet, and must not know SNMP, ssh or the PDUs' drivers.
package redfish

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/powerbridge/powerbridge/power"
)

// Fleet is what the Redfish face needs of the power domain; *power.Fleet is
// one.
type Fleet interface {
	// Machines lists the machines; a machine with Graceful set has a clean
	// shutdown.
	Machines() []power.Machine
	Status(ctx context.Context, machine string) (power.MachineStatus, error)
	On(ctx context.Context, machine string) (power.Result, error)
	// Off runs the machine's normal off: its clean shutdown, then the cut.
	Off(ctx context.Context, machine string) (power.Result, error)
	// Cut switches the machine off with no clean shutdown.
	Cut(ctx context.Context, machine string) (power.Result, error)
	Cycle(ctx context.Context, machine string) (power.Result, error)
	// Underway says which action is under way on the machine, if any.
	Underway(machine string) (power.Action, bool)

	// The PDUs, as power equipment (pdus.go).
	PDUNames() []string
	ReadPDU(ctx context.Context, pdu string) (power.Reading, error)
	// SwitchOutlet is the JSON API's outlet path: queued per PDU, joined,
	// verified, the power-on delay kept.
	SwitchOutlet(ctx context.Context, pdu string, n int, action power.Action) (power.OutletResult, error)
	MachineOf(ref power.OutletRef) (string, bool)
}

// Gate is the server's failed-authentication limit (server.Gate).
type Gate interface {
	Admit(r *http.Request, check func(*http.Request) (string, bool)) (principal string, ok bool, retryAfter time.Duration)
}

// Config is how the Redfish face behaves.
type Config struct {
	// Fleet is the domain a request is served from (one config generation).
	Fleet func(r *http.Request) Fleet
	// Hold, when set, keeps what r's Fleet needs (its config generation)
	// until release is called: a reset is carried out after its answer,
	// on the fleet of the request that asked for it.
	Hold func(r *http.Request) (release func())
	// Auth checks Basic credentials: auth.users. Bearer tokens are not
	// Redfish credentials and are refused before it is asked.
	Auth interface {
		Check(r *http.Request) (principal string, ok bool)
	}
	// ForceOffCuts tells whether ForceOff is a plain cut for a machine;
	// when nil or false ForceOff runs the machine's normal off (MAAS sends
	// only ForceOff, so a clean shutdown would otherwise never run).
	ForceOffCuts func(r *http.Request, machine string) bool
	// PowerOnDelay, when set, is a PDU's power_on_delay, shown as its
	// outlets' PowerOnDelaySeconds.
	PowerOnDelay func(r *http.Request, pdu string) time.Duration
	// Boot keeps the boot overrides; nil keeps them in memory only.
	Boot BootStore
	// SessionTimeout is how long a session lasts unused (default 30m).
	SessionTimeout time.Duration
	// StatusTimeout bounds a state read; ActionTimeout each step of a reset
	// carried out after the answer.
	StatusTimeout time.Duration
	ActionTimeout time.Duration
	// Identity is any text that names this service: ServiceRoot.UUID is
	// made from it, and each system's UUID from it and the system's name.
	Identity string
	Logger   *slog.Logger
}

type service struct {
	cfg      Config
	gate     Gate
	log      *slog.Logger
	sessions *sessions
	boot     *bootOverrides
	resets   *resets
}

// New returns the Redfish handler, to be mounted at /redfish on a router that
// strips trailing slashes (server.New does).
func New(cfg Config, gate Gate) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 30 * time.Minute
	}
	if cfg.StatusTimeout <= 0 {
		cfg.StatusTimeout = 10 * time.Second
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 150 * time.Second
	}
	s := &service{cfg: cfg, gate: gate, log: cfg.Logger, sessions: newSessions(cfg.SessionTimeout)}
	s.boot = newBootOverrides(cfg.Boot, cfg.Logger)
	s.resets = newResets(s)

	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "ResourceNotFound", "no resource at "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, "OperationNotAllowed", "method "+r.Method+" is not allowed on "+r.URL.Path)
	})
	// The root and its version document are open, as Redfish has them, and
	// so is the login: the credentials are in its body.
	r.Get("/", s.versions)
	r.Get("/v1", s.root)
	r.Post("/v1/SessionService/Sessions", s.login)
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get("/v1/Systems", s.systems)
		r.Get("/v1/Systems/{id}", s.system)
		r.Patch("/v1/Systems/{id}", s.patchSystem)
		r.Post("/v1/Systems/{id}/Actions/ComputerSystem.Reset", s.reset)
		r.Get("/v1/SessionService", s.sessionService)
		r.Get("/v1/SessionService/Sessions", s.listSessions)
		r.Get("/v1/SessionService/Sessions/{id}", s.getSession)
		r.Delete("/v1/SessionService/Sessions/{id}", s.deleteSession)
		r.Get("/v1/PowerEquipment", s.powerEquipment)
		r.Get("/v1/PowerEquipment/RackPDUs", s.rackPDUs)
		r.Get("/v1/PowerEquipment/RackPDUs/{pdu}", s.rackPDU)
		r.Get("/v1/PowerEquipment/RackPDUs/{pdu}/Metrics", s.pduMetrics)
		r.Get("/v1/PowerEquipment/RackPDUs/{pdu}/Outlets", s.outlets)
		r.Get("/v1/PowerEquipment/RackPDUs/{pdu}/Outlets/{n}", s.outlet)
		r.Post("/v1/PowerEquipment/RackPDUs/{pdu}/Outlets/{n}/Actions/Outlet.PowerControl", s.powerControl)
		r.Get("/v1/Managers", emptyCollection("Managers", "#ManagerCollection.ManagerCollection"))
		r.Get("/v1/Chassis", emptyCollection("Chassis", "#ChassisCollection.ChassisCollection"))
	})
	return r
}

func (s *service) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"v1": "/redfish/v1/"})
}

func (s *service) root(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.id":      "/redfish/v1/",
		"@odata.type":    "#ServiceRoot.v1_11_0.ServiceRoot",
		"Id":             "RootService",
		"Name":           "powerbridge",
		"Product":        "powerbridge",
		"RedfishVersion": "1.11.0",
		"UUID":           nameUUID(s.cfg.Identity),
		"Systems":        odataID("/redfish/v1/Systems"),
		"Managers":       odataID("/redfish/v1/Managers"),
		"Chassis":        odataID("/redfish/v1/Chassis"),
		"SessionService": odataID("/redfish/v1/SessionService"),
		"PowerEquipment": odataID(equipmentPath),
		"Links":          map[string]any{"Sessions": odataID("/redfish/v1/SessionService/Sessions")},
	})
}

func emptyCollection(name, typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.id": "/redfish/v1/" + name, "@odata.type": typ, "Name": name,
			"Members": []any{}, "Members@odata.count": 0,
		})
	}
}

func odataID(path string) map[string]string { return map[string]string{"@odata.id": path} }

// nameUUID is a stable UUID (version 5 in form) made from s.
func nameUUID(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
