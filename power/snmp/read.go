package snmp

import "context"

// BulkGet reads nonRepeaters and the column spans into got with GETBULKs
// of at most MaxVarbinds each: the non-repeaters in the first, the spans a
// page of rows at a time. A span is the instances of one column a read
// wants, in the agent's order; the rows between them that the agent has
// come along. With c columns and up to ⌊(60 − m) / c⌋ rows per span that
// is one request.
func BulkGet(ctx context.Context, c Client, nonRepeaters []string, spans [][]string, got map[string]Varbind) error {
	perPage := max(1, (MaxVarbinds-len(nonRepeaters))/max(1, len(spans)))
	for page := 0; ; page++ {
		var oids []string
		nonRep := 0
		if page == 0 {
			for _, o := range nonRepeaters {
				oids = append(oids, Before(o))
			}
			nonRep = len(nonRepeaters)
		}
		reps := 0
		for _, span := range spans {
			if lo := page * perPage; lo < len(span) {
				hi := min(lo+perPage, len(span))
				oids = append(oids, Before(span[lo]))
				reps = max(reps, hi-lo)
			}
		}
		if reps == 0 && page > 0 {
			break
		}
		vbs, err := c.GetBulk(ctx, oids, nonRep, reps)
		if err != nil {
			return err
		}
		for _, v := range vbs {
			if !v.Missing() {
				got[v.OID] = v
			}
		}
		if reps == 0 {
			break
		}
	}
	return nil
}

// GetAll GETs oids, at most MaxVarbinds per request, into got. Under SNMPv1
// one missing object fails the whole GET with noSuchName, which comes back
// as that *AgentError.
func GetAll(ctx context.Context, c Client, oids []string, got map[string]Varbind) error {
	for len(oids) > 0 {
		n := min(len(oids), MaxVarbinds)
		vbs, err := c.Get(ctx, oids[:n])
		if err != nil {
			return err
		}
		for _, v := range vbs {
			if !v.Missing() {
				got[v.OID] = v
			}
		}
		oids = oids[n:]
	}
	return nil
}
