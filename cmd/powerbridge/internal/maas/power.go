package maas

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
)

// PowerParameters reads a machine's power parameters (GET
// machines/{id}/?op=power_parameters) without the power_parameters_ prefix
// the update form uses: "power_on_uri", "power_token", ... They can hold
// secrets (tokens, passwords): never print them whole.
//
// MAAS reserves this call for admins and answers 403 to anyone else.
func (c *Client) PowerParameters(ctx context.Context, systemID string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := c.Get(ctx, "machines/"+url.PathEscape(systemID)+"/", url.Values{"op": {"power_parameters"}}, &raw); err != nil {
		return nil, err
	}
	params := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case string(v) == "null":
			// MAAS's "none": unset.
		case json.Unmarshal(v, &s) == nil:
		default:
			// A boolean or a number (some drivers' settings); its JSON text.
			s = strings.TrimSpace(string(v))
		}
		params[k] = s
	}
	return params, nil
}
