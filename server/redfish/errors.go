package redfish

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// registry prefixes every MessageId: DMTF's Base message registry.
const registry = "Base.1.8."

// writeError answers in Redfish's error format. msg says what was wrong and
// where; it never holds a credential.
func writeError(w http.ResponseWriter, code int, messageID, msg string) {
	id := registry + messageID
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code":    id,
		"message": msg,
		"@Message.ExtendedInfo": []any{map[string]any{
			"@odata.type": "#Message.v1_1_1.Message",
			"MessageId":   id,
			"Message":     msg,
			"Severity":    "Warning",
		}},
	}})
}

// writeJSON writes v with an explicit Content-Length: MAAS's Twisted client
// fails an error answer that has neither a length nor chunking.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":{"code":"Base.1.8.InternalError","message":"encoding the answer failed"}}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("OData-Version", "4.0")
	w.WriteHeader(code)
	w.Write(body)
}

// noContent answers 204, as Redfish answers an action carried out after it.
func noContent(w http.ResponseWriter) {
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusNoContent)
}
