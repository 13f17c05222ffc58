package power

import (
	"fmt"
	"strconv"
	"strings"
)

// OutletRef names one outlet of one PDU, written "pdu/N": in the config,
// the journal, the API's answers and the log.
type OutletRef struct {
	PDU    string
	Outlet int
}

func (r OutletRef) String() string { return fmt.Sprintf("%s/%d", r.PDU, r.Outlet) }

// ParseOutletRef reads an outlet written "pdu/N", with N from 1. Its error
// quotes s and says how an outlet is written.
func ParseOutletRef(s string) (OutletRef, error) {
	pdu, num, found := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if !found || pdu == "" || err != nil || n < 1 {
		return OutletRef{}, fmt.Errorf("%q is not an outlet; write \"pdu/N\" with N from 1", s)
	}
	return OutletRef{PDU: pdu, Outlet: n}, nil
}

// UnmarshalText reads "pdu/N" (see ParseOutletRef), so that a config file
// decodes straight into an OutletRef.
func (r *OutletRef) UnmarshalText(b []byte) error {
	ref, err := ParseOutletRef(string(b))
	if err != nil {
		return err
	}
	*r = ref
	return nil
}
