package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/erpipe/erpipe/workspace"
)

// The console's users sign in with a name and password (http: users: in
// erpipe.yaml) and get a session: a random ID in an HttpOnly, SameSite
// Strict cookie (Secure over HTTPS), and a CSRF token that every request
// made with the cookie other than GET and HEAD sends back in
// X-CSRF-Token. Sessions live in the daemon's memory only: a restart
// signs everyone out.

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "erpipe_session"

// CSRFHeader is the header a request made with the session cookie sends
// its session's CSRF token in.
const CSRFHeader = "X-CSRF-Token"

// SignInHeader is set on the answers to requests when erpipe has users:
// "password, token", the ways to sign in.
const SignInHeader = "X-Erpipe-Sign-In"

// MaxSession is how long a session lasts after its sign-in, used or not.
const MaxSession = 12 * time.Hour

type session struct {
	user    string
	pwHash  string // the password hash it signed in with: a new password ends it
	csrf    string
	created time.Time
	seen    time.Time
}

// sessionStore keeps the sessions by the SHA-256 of their IDs, so that
// the IDs themselves are kept nowhere but in the browsers.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on the systems erpipe runs on
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// start makes a session for user, returning its ID.
func (s *sessionStore) start(u *workspace.UserConfig, now time.Time) (string, *session) {
	id := randomID()
	se := &session{user: u.Name, pwHash: u.PasswordHash, csrf: randomID(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*session{}
	}
	s.m[sessionKey(id)] = se
	return id, se
}

// get finds the live session of id and marks it seen; an expired one is
// forgotten.
func (s *sessionStore) get(id string, idle time.Duration, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := sessionKey(id)
	se := s.m[k]
	if se == nil {
		return nil
	}
	if now.Sub(se.seen) > idle || now.Sub(se.created) > MaxSession {
		delete(s.m, k)
		return nil
	}
	se.seen = now
	return se
}

func (s *sessionStore) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sessionKey(id))
}

// sweep forgets the expired sessions.
func (s *sessionStore) sweep(idle time.Duration, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, se := range s.m {
		if now.Sub(se.seen) > idle || now.Sub(se.created) > MaxSession {
			delete(s.m, k)
		}
	}
}

// Failed sign-ins are limited per user name and per remote address: from
// the 5th failure in a row on, each further attempt waits 30 s, doubled
// each time up to 15 min. A success clears the name's and the address's
// count; a count is forgotten 15 min after its last failure.
const (
	signinFree     = 5
	signinFirst    = 30 * time.Second
	signinMaxWait  = 15 * time.Minute
	signinForgetIn = 15 * time.Minute
)

type signinLimiter struct {
	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

// wait says how long keys must wait before another attempt (0: none).
func (l *signinLimiter) wait(now time.Time, keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	for _, k := range keys {
		if f := l.m[k]; f != nil && f.until.After(now) {
			d = max(d, f.until.Sub(now))
		}
	}
	return d
}

func (l *signinLimiter) fail(now time.Time, keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*failures{}
	}
	for k, f := range l.m {
		if now.Sub(f.last) > signinForgetIn && !f.until.After(now) {
			delete(l.m, k)
		}
	}
	for _, k := range keys {
		f := l.m[k]
		if f == nil {
			f = &failures{}
			l.m[k] = f
		}
		f.n++
		f.last = now
		if f.n >= signinFree {
			wait := signinFirst << min(f.n-signinFree, 10)
			f.until = now.Add(min(wait, signinMaxWait))
		}
	}
}

func (l *signinLimiter) succeed(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.m, k)
	}
}

// dummyHash is compared against when the name is not a user's, so that a
// wrong name takes as long as a wrong password. It is made on first use:
// a bcrypt hash of cost 12 takes about 0.3 s of CPU, which every erpipe
// command paid at start-up when it was made with the package.
var dummyHash = sync.OnceValue(func() string {
	h, _ := workspace.HashPassword("erpipe-not-a-user-password")
	return h
})

// bcryptSlots bounds the password comparisons made at once.
var bcryptSlots = make(chan struct{}, 2)

type signinRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type sessionView struct {
	Name      string         `json:"name"`
	Role      workspace.Role `json:"role"`
	CSRFToken string         `json:"csrf_token"`
	Expires   time.Time      `json:"expires"` // when it ends unless used before
}

// openRoute is an endpoint that needs no token or session: signing in
// and out.
type openRoute struct {
	pattern string
	h       http.HandlerFunc
}

func (a *API) openRoutes() []openRoute {
	return []openRoute{
		{"POST /api/v1/session", a.signIn},
		{"DELETE /api/v1/session", a.signOut},
	}
}

// open serves an open route, telling OnRequest of it.
func (a *API) open(rt openRoute) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := &recorder{ResponseWriter: rw, status: http.StatusOK}
		start := time.Now()
		rt.h(w, r)
		if a.observe != nil {
			a.observe("", rt.pattern, w.status, time.Since(start))
		}
	})
}

// signIn serves POST /api/v1/session: {"name","password"} as JSON (a
// cross-site form cannot send JSON without the browser asking first).
func (a *API) signIn(w http.ResponseWriter, r *http.Request) {
	hc := a.config()
	if len(hc.Users) == 0 {
		writeError(w, http.StatusNotFound, "no_users", "this erpipe has no users to sign in as (http: users in erpipe.yaml); sign in with an API token")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "bad_type", `send {"name":"...","password":"..."} as application/json`)
		return
	}
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		writeError(w, http.StatusForbidden, "csrf", "a sign-in from another site is refused; open the console at this server's own address")
		return
	}
	var req signinRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.Name == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "bad_signin", `send {"name":"...","password":"..."}, both filled in`)
		return
	}
	now := a.now()
	keys := []string{"user:" + req.Name, "addr:" + remoteHost(r)}
	if wait := a.signins.wait(now, keys...); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(seconds(wait)))
		a.log.Warn("a console sign-in was refused: too many failed attempts", "user", req.Name, "remote", remoteHost(r))
		writeError(w, http.StatusTooManyRequests, "signin_locked", fmt.Sprintf("too many failed sign-ins for this name or from this address; wait %d s and try again", seconds(wait)))
		return
	}
	u := hc.User(req.Name)
	hash := dummyHash()
	if u != nil {
		hash = u.PasswordHash
	}
	// A bcrypt comparison takes a quarter of a second of a core: a few
	// at a time, so that a flood of sign-ins cannot take the daemon's
	// cores (the others wait, or give up with their request).
	select {
	case bcryptSlots <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	ok := workspace.CheckPassword(hash, req.Password) && u != nil && !u.Disabled
	<-bcryptSlots
	if !ok {
		a.signins.fail(now, keys...)
		a.log.Warn("a console sign-in failed", "user", req.Name, "remote", remoteHost(r))
		unauthorized(w, "the name or the password is wrong (or the user is disabled); ask the workspace owner if you have forgotten it")
		return
	}
	a.signins.succeed(keys...)
	a.sessions.sweep(hc.Session(), now)
	id, se := a.sessions.start(u, now)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(MaxSession / time.Second)})
	a.log.Info("a user signed in to the console", "user", u.Name, "role", u.Role(), "remote", remoteHost(r))
	writeJSON(w, http.StatusOK, sessionView{Name: u.Name, Role: u.Role(), CSRFToken: se.csrf, Expires: now.Add(hc.Session())})
}

// signOut serves DELETE /api/v1/session: the session ends and its cookie
// is removed. It needs the session's CSRF token as every change does.
func (a *API) signOut(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(SessionCookie)
	if err == nil {
		if se := a.sessions.get(ck.Value, a.config().Session(), a.now()); se != nil {
			if !csrfOK(r, se) {
				writeError(w, http.StatusForbidden, "csrf", "sign-out needs the session's CSRF token in "+CSRFHeader+"; reload the console and sign out there")
				return
			}
			a.sessions.end(ck.Value)
			a.log.Info("a user signed out of the console", "user", se.user)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// csrfOK reports whether r carries se's CSRF token.
func csrfOK(r *http.Request, se *session) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) == 1
}

// safeMethod: a request that changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sessionCaller finds the caller of a request made with the session
// cookie: the session's user as erpipe.yaml now has it (a changed role
// counts at once; a removed or disabled user or a new password ends the
// session).
func (a *API) sessionCaller(w http.ResponseWriter, r *http.Request, hc workspace.HTTPConfig, id string) (*caller, bool) {
	se := a.sessions.get(id, hc.Session(), a.now())
	var u *workspace.UserConfig
	if se != nil {
		u = hc.User(se.user)
	}
	if se == nil || u == nil || u.Disabled || u.PasswordHash != se.pwHash {
		if se != nil {
			a.sessions.end(id)
		}
		unauthorized(w, "the console session has ended (signed out, idle too long, or erpipe restarted); sign in again")
		return nil, false
	}
	if !safeMethod(r.Method) && !csrfOK(r, se) {
		writeError(w, http.StatusForbidden, "csrf", "a change made with the console's session cookie must send the session's CSRF token in "+CSRFHeader+" (the console does); reload the console page and try again")
		return nil, false
	}
	return &caller{name: u.Name, user: true, role: u.Role(), priority: 1, pipelines: u.Pipelines, csrf: se.csrf}, true
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
