package sandbox

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"
	"time"
)

// ---- Admin console over HTTP ----

func (s *Sandbox) handleAdmin(w http.ResponseWriter, r *http.Request) {
	a := adminAnswer{w, r}
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/admin/"), "/")

	switch {
	case path == "users" && r.Method == http.MethodPost:
		var b struct {
			Email     string `json:"email"`
			IMAP      *bool  `json:"imap"`
			Suspended *bool  `json:"suspended"`
		}
		if !a.decode(&b) {
			return
		}
		if err := s.SetUser(UserUpdate{Email: b.Email, IMAP: b.IMAP, Suspended: b.Suspended}); err != nil {
			a.fail(err)
			return
		}
		a.ok()
	case path == "delegation" && r.Method == http.MethodPost:
		var b struct {
			ClientID string   `json:"client_id"`
			Scopes   []string `json:"scopes"`
		}
		if a.decode(&b) && a.need("client_id", b.ClientID != "") {
			s.Authorize(b.ClientID, b.Scopes)
			a.ok()
		}
	case path == "delegation" && r.Method == http.MethodDelete:
		if id := r.URL.Query().Get("client_id"); a.need("client_id", id != "") {
			s.Deauthorize(id)
			a.ok()
		}
	case path == "domain" && r.Method == http.MethodPost:
		var b struct {
			IMAP *bool `json:"imap"`
		}
		if a.decode(&b) && a.need("imap", b.IMAP != nil) {
			s.SetDomainIMAP(*b.IMAP)
			a.ok()
		}
	case path == "clock" && r.Method == http.MethodPost:
		var b struct {
			SkewSeconds *float64 `json:"skew_seconds"`
		}
		if a.decode(&b) && a.need("skew_seconds", b.SkewSeconds != nil) {
			s.SetClockSkew(time.Duration(*b.SkewSeconds * float64(time.Second)))
			a.ok()
		}
	case path == "revoke" && r.Method == http.MethodPost:
		a.withEmail(s.Revoke)
	case path == "faults" && r.Method == http.MethodPost:
		var b Faults
		if !a.decode(&b) {
			return
		}
		if b.LatencyMS < 0 || b.RTTMS < 0 {
			a.fail(errors.New("latency_ms and rtt_ms must not be negative"))
			return
		}
		if most := int(MaxRTT / time.Millisecond); b.RTTMS > most {
			a.fail(fmt.Errorf("rtt_ms %d is out of range; use 0 to %d (one minute), e.g. 50", b.RTTMS, most))
			return
		}
		if err := b.Throttle.valid(); err != nil {
			a.fail(err)
			return
		}
		s.SetFaults(b)
		a.ok()
	case path == "clients" && r.Method == http.MethodPost:
		var b ClientState
		if a.decode(&b) && a.need("client_id", b.ClientID != "") {
			s.SetClient(b)
			a.ok()
		}
	case path == "state" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.state())
	default:
		if s.handleAdminOAuth(w, r, path) {
			return
		}
		a.fail(fmt.Errorf("unknown admin call %s %s", r.Method, r.URL.Path))
	}
}

type userState struct {
	Email     string `json:"email"`
	IMAP      bool   `json:"imap"`
	Suspended bool   `json:"suspended"`
	Messages  int    `json:"messages"`
	IMAPConns int    `json:"imap_connections"`
}

type stateDump struct {
	Domain        string              `json:"domain"`
	DomainIMAP    bool                `json:"domain_imap"`
	Users         []userState         `json:"users"`
	Delegation    map[string][]string `json:"delegation"`
	Clients       []ClientState       `json:"clients"`
	SkewSeconds   float64             `json:"skew_seconds"`
	Now           time.Time           `json:"now"`
	Faults        Faults              `json:"faults"`
	ServiceClient string              `json:"service_account_client_id"`
	ServiceEmail  string              `json:"service_account_email"`
	TokensMinted  int                 `json:"tokens_minted"`
	Logins        map[string]int      `json:"logins"`
	Throttled     ThrottleCounts      `json:"throttled"`
	Flights       int64               `json:"rtt_flights"`
}

func (s *Sandbox) state() stateDump {
	s.mu.Lock()
	d := stateDump{
		Domain:        s.domain,
		DomainIMAP:    s.domainIMAP,
		Delegation:    map[string][]string{},
		SkewSeconds:   s.skew.Seconds(),
		Now:           s.nowLocked(),
		Faults:        s.faults,
		ServiceClient: s.clientID,
		ServiceEmail:  s.clientEmail,
		TokensMinted:  s.minted,
		Logins:        maps.Clone(s.logins),
		Throttled:     s.throttle.hit,
		Flights:       s.flights.Load(),
	}
	for _, u := range s.users {
		d.Users = append(d.Users, userState{Email: u.email, IMAP: u.imap, Suspended: u.suspended, IMAPConns: u.conns})
	}
	for k, v := range s.delegation {
		d.Delegation[k] = append([]string(nil), v...)
	}
	for _, c := range s.clients {
		d.Clients = append(d.Clients, c)
	}
	s.mu.Unlock()
	for i := range d.Users {
		d.Users[i].Messages = s.MessageCount(d.Users[i].Email)
	}
	sort.Slice(d.Users, func(i, j int) bool { return d.Users[i].Email < d.Users[j].Email })
	sort.Slice(d.Clients, func(i, j int) bool { return d.Clients[i].ClientID < d.Clients[j].ClientID })
	return d
}
