package redfish

// The ComputerSystem answer as types rather than maps: MAAS polls it every
// second or two during an action, and encoding/json writes a struct in
// half the time of the same map (no key sorting, no interface boxing).
// Fields are in the order Redfish's mockups list them.

type computerSystem struct {
	ODataID      string           `json:"@odata.id"`
	ODataType    string           `json:"@odata.type"`
	ODataETag    string           `json:"@odata.etag"`
	ID           string           `json:"Id"`
	Name         string           `json:"Name"`
	UUID         string           `json:"UUID"`
	SystemType   string           `json:"SystemType"`
	Manufacturer string           `json:"Manufacturer"`
	Model        string           `json:"Model"`
	PowerState   string           `json:"PowerState"`
	Status       status           `json:"Status"`
	Boot         systemBoot       `json:"Boot"`
	Actions      systemActions    `json:"Actions"`
	Links        systemLinks      `json:"Links"`
	Oem          map[string]oemPB `json:"Oem"`
}

type status struct {
	State  string `json:"State"`
	Health string `json:"Health"`
}

type systemBoot struct {
	Enabled        string   `json:"BootSourceOverrideEnabled"`
	Target         string   `json:"BootSourceOverrideTarget"`
	Mode           string   `json:"BootSourceOverrideMode"`
	EnabledAllowed []string `json:"BootSourceOverrideEnabled@Redfish.AllowableValues"`
	TargetAllowed  []string `json:"BootSourceOverrideTarget@Redfish.AllowableValues"`
	ModeAllowed    []string `json:"BootSourceOverrideMode@Redfish.AllowableValues"`
}

type systemActions struct {
	Reset resetAction `json:"#ComputerSystem.Reset"`
}

type resetAction struct {
	Target  string   `json:"target"`
	Allowed []string `json:"ResetType@Redfish.AllowableValues"`
}

type systemLinks struct {
	Chassis   []any `json:"Chassis"`
	ManagedBy []any `json:"ManagedBy"`
}

type oemPB struct {
	Outlets []string `json:"Outlets"`
	// WakeOnLAN: the machine is woken by LAN, after its outlets if any.
	WakeOnLAN     bool `json:"WakeOnLAN,omitempty"`
	CleanShutdown bool `json:"CleanShutdown"`
	ForceOffCuts  bool `json:"ForceOffCuts"`
}
