package events_test

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/erpipe/erpipe/events"
)

// A receiver checks the signature over the raw body before it parses it,
// and keeps the ids of the events it handled: a delivery may come twice.
func ExampleVerify() {
	secret := []byte("the value of ERPIPE_WEBHOOK_SECRET")
	seen := map[string]bool{} // a table in the receiver's database
	handler := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if err := events.Verify(secret, r.Header.Get(events.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(events.HeaderEventID)
		if !seen[id] {
			seen[id] = true
			// ... handle the event (json.Unmarshal(body, &events.Event{}))
		}
		w.WriteHeader(http.StatusNoContent)
	}
	_ = handler

	body := []byte(`{"id":"evt_1","type":"job.ended"}`)
	header := events.Sign(secret, body, time.Now())
	fmt.Println(events.Verify(secret, header, body, time.Now(), 0))
	fmt.Println(events.Verify(secret, header, []byte(`{"id":"evt_1","type":"job.failed"}`), time.Now(), 0))
	// Output:
	// <nil>
	// the signature does not match the body: another secret, or a changed body
}
