// Command apiload measures erpipe's HTTP API under load: uploads of files
// of a given size to a pipeline, or job-status calls, from C concurrent
// clients, N requests in all. It prints one markdown table row: requests
// a second, p50 and p99 latency, and the requests that failed. Used by
// bench/api.sh.
//
//	apiload -url http://127.0.0.1:8780 -token T -mode upload -size 10240 -n 500 -c 8
//	apiload -url http://127.0.0.1:8780 -token T -mode status -n 5000 -c 8
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8780", "erpipe's base URL")
	token := flag.String("token", "", "the client's bearer token")
	mode := flag.String("mode", "upload", "upload or status")
	pipeline := flag.String("pipeline", "customers-v3", "the pipeline uploads go to")
	size := flag.Int("size", 10<<10, "bytes per upload (a customers-v3 CSV of about that size)")
	n := flag.Int("n", 200, "requests in all")
	c := flag.Int("c", 8, "concurrent clients")
	label := flag.String("label", "", "the row's label")
	flag.Parse()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c}}
	do := func(req *http.Request) (int, []byte, error) {
		req.Header.Set("Authorization", "Bearer "+*token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	body := csvOf(*size)
	// For status calls: one job to ask about.
	var jobID string
	if *mode == "status" {
		req, _ := http.NewRequest("POST", *base+"/api/v1/pipelines/"+*pipeline+"/jobs?name=status.csv", bytes.NewReader(csvOf(10<<10)))
		code, b, err := do(req)
		var j struct{ ID string }
		if err != nil || code != 202 || json.Unmarshal(b, &j) != nil {
			fmt.Fprintf(os.Stderr, "apiload: the job to ask about: %d %s %v\n", code, b, err)
			os.Exit(1)
		}
		jobID = j.ID
	}
	var next, failed atomic.Int64
	lat := make([][]time.Duration, *c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range *c {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(*n) {
					return
				}
				var req *http.Request
				want := 200
				if *mode == "upload" {
					// Each upload's own first row, so that none is a duplicate.
					b := append(fmt.Appendf(nil, "%s\nBENCH-%d-%d,Bench,10,USD,USA,1 Road,City,1,b@example.com,1,1.00,30\n", header, start.UnixNano(), i), body...)
					req, _ = http.NewRequest("POST", fmt.Sprintf("%s/api/v1/pipelines/%s/jobs?name=bench-%d.csv", *base, *pipeline, i), bytes.NewReader(b))
					want = 202
				} else {
					req, _ = http.NewRequest("GET", *base+"/api/v1/jobs/"+jobID, nil)
				}
				t0 := time.Now()
				code, b, err := do(req)
				d := time.Since(t0)
				if err != nil || code != want {
					failed.Add(1)
					if failed.Load() <= 3 {
						fmt.Fprintf(os.Stderr, "apiload: %d %.200s %v\n", code, b, err)
					}
					continue
				}
				lat[w] = append(lat[w], d)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(float64(len(all))*p))]
	}
	if *label == "" {
		*label = *mode
	}
	fmt.Printf("| %s | %d | %d | %.1f | %s | %s | %d |\n", *label, *n, *c, float64(len(all))/wall.Seconds(),
		pct(0.50).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), failed.Load())
}

const header = "Account,Name,Customer group,Currency,Country,Street,City,Postal code,Email,Phone,Credit limit,Payment terms"

// csvOf is customers-v3 rows of about size bytes, without the header.
func csvOf(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "ACC-%08d,Customer %d,10,USD,USA,%d Main Street,Seattle,98101,ap%d@example.com,+1 206 555 0100,1000.00,30\n", i, i, i, i)
	}
	return b.Bytes()
}
