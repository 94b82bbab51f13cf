package emulator_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/erpipe/erpipe/d365/emulator"
)

// A test starts an emulator, points its client at URL() (the environment
// and the Entra ID authority host) trusting CAPEM(), makes it misbehave,
// and then looks at what was imported and how the client behaved.
func Example() {
	s := emulator.New(emulator.Options{ExecuteTime: 100 * time.Millisecond})
	if err := s.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// The next two API calls are throttled, the first with Retry-After
	// in seconds, the second as an HTTP date; then the blob storage is
	// down for a moment.
	s.Throttle(1, 2*time.Second)
	s.Inject(emulator.Fault{Scope: emulator.APIRequests, Status: http.StatusTooManyRequests, RetryAfter: time.Second, RetryAfterDate: true})
	s.Inject(emulator.Fault{Scope: emulator.BlobRequests, Status: http.StatusServiceUnavailable, Until: time.Now().Add(time.Second)})

	// … run the client against s.URL() …

	for _, im := range s.Imports() {
		fmt.Println(im.ExecutionID, im.Status, len(im.Package))
	}
	fmt.Println("early requests:", len(s.EarlyRequests()))
	// Output:
	// early requests: 0
}
