// Command probe is the test workload of hack/cluster:
//
//	probe serve ADDR         answer every HTTP request with the pod's hostname
//	probe get URL N          GET URL N times (new connection each), print each answer;
//	                         exit 1 unless all N answered within 30 s in total
//	probe burn               spin one CPU until killed (load for HPA tests)
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

var burnSink uint64

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe serve ADDR | probe get URL N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, host)
		})
		fmt.Fprintln(os.Stderr, http.ListenAndServe(os.Args[2], nil))
		os.Exit(1)
	case "burn":
		for x := uint64(0); ; x++ {
			burnSink = x * x
		}
	case "get":
		n := 1
		if len(os.Args) > 3 {
			n, _ = strconv.Atoi(os.Args[3])
		}
		deadline := time.Now().Add(30 * time.Second)
		client := &http.Client{Timeout: 2 * time.Second,
			Transport: &http.Transport{DisableKeepAlives: true}}
		for ok := 0; ok < n; {
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "only %d of %d answers\n", ok, n)
				os.Exit(1)
			}
			resp, err := client.Get(os.Args[2])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				time.Sleep(200 * time.Millisecond)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Print(string(body))
			ok++
		}
	default:
		os.Exit(2)
	}
}
