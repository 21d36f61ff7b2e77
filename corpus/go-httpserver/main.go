// notes: a tiny in-memory notes service (standard library only).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
)

var version = "1.4.2"

type store struct {
	mu    sync.Mutex
	notes map[string]string
}

func newStore() *store { return &store{notes: map[string]string{}} }

func (s *store) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/notes/", s.handleNote)
	mux.HandleFunc("/notes", s.handleList)
	return mux
}

func (s *store) handleList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.notes))
	for k := range s.notes {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	sort.Strings(keys)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]interface{}{"notes": keys, "version": version})
}

func (s *store) handleNote(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/notes/")
	if name == "" {
		http.Error(w, "missing note name", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.notes[name] = string(body)
		s.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet:
		s.mu.Lock()
		text, ok := s.notes[name]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, text)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// selftest starts the server on a free local port, stores and reads back a note over HTTP.
func selftest() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newStore().routes()}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	resp, err := http.Post(base+"/notes/greeting", "text/plain", strings.NewReader("hello from notes"))
	if err != nil {
		return err
	}
	resp.Body.Close()
	resp, err = http.Get(base + "/notes/greeting")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("selftest: GET /notes/greeting -> %d %s\n", resp.StatusCode, body)
	return nil
}

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	test := flag.Bool("selftest", false, "serve on a local port, do one request, exit")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("notes", version)
		return
	}
	if *test {
		if err := selftest(); err != nil {
			fmt.Fprintln(os.Stderr, "selftest failed:", err)
			os.Exit(1)
		}
		return
	}
	log.Printf("notes %s listening on %s", version, *addr)
	log.Fatal(http.ListenAndServe(*addr, newStore().routes()))
}
