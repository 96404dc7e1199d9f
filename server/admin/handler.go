package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/softphone/softphone/call/protocol"
	"github.com/softphone/softphone/server/auth"
	"github.com/softphone/softphone/server/store"
)

// MaxClockSkew is how far CurTime may be from the server's clock.
const MaxClockSkew = 300 * time.Second

const maxBody = 16 << 10

// DefaultBodyTimeout bounds reading a request's body: a client that sends
// it a byte at a time must not hold a connection and a handler for ever.
const DefaultBodyTimeout = 10 * time.Second

// Config wires the admin API.
type Config struct {
	Store     *store.Store
	AppKey    string // requests are checked against this key pair
	AppSecret string
	Logger    *slog.Logger // default discard
	// Sessions ends the live sessions of an account whose token was reset
	// or that was removed, before the request is answered (nil: none).
	Sessions SessionEnder
	// BodyTimeout bounds reading a request (default DefaultBodyTimeout).
	BodyTimeout time.Duration
}

// SessionEnder ends, on every node, the sessions of account not logged in
// to a (nil: the account was removed) with its current token.
// gateway.Gateway is one.
type SessionEnder interface {
	EndSessions(ctx context.Context, account string, a *store.Account) error
}

// Handler serves /admin/v1/... .
type Handler struct {
	st        *store.Store
	appKey    string
	appSecret string
	log       *slog.Logger
	sessions  SessionEnder
	bodyTime  time.Duration
	mux       *http.ServeMux
}

// NewHandler builds the admin API.
func NewHandler(cfg Config) *Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	h := &Handler{st: cfg.Store, appKey: cfg.AppKey, appSecret: cfg.AppSecret, log: log, sessions: cfg.Sessions,
		bodyTime: cfg.BodyTimeout, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /admin/v1/users", h.createUser)
	h.mux.HandleFunc("GET /admin/v1/users", h.listUsers)
	h.mux.HandleFunc("DELETE /admin/v1/users/{account}", h.removeUser)
	h.mux.HandleFunc("POST /admin/v1/users/{account}/token", h.resetToken)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The headers are read (the server's ReadHeaderTimeout); the body must
	// follow promptly. Not every ResponseWriter supports deadlines.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.bodyTime))
	if err := h.authenticate(r); err != nil {
		h.log.Info("admin request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "why", err.Error())
		writeError(w, err)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authenticate checks AppKey, CurTime (±MaxClockSkew), CheckSum and that the
// Nonce is new. The nonce is recorded only for correctly signed requests,
// so nobody can burn nonces without the secret.
func (h *Handler) authenticate(r *http.Request) error {
	key, nonce, cur, sum := r.Header.Get("AppKey"), r.Header.Get("Nonce"), r.Header.Get("CurTime"), r.Header.Get("CheckSum")
	if key == "" || nonce == "" || cur == "" || sum == "" {
		return protocol.Errorf(protocol.CodeUnauthorized, "missing AppKey, Nonce, CurTime or CheckSum header")
	}
	if len(nonce) > 128 {
		return protocol.Errorf(protocol.CodeUnauthorized, "nonce too long")
	}
	if !auth.SecretEqual(key, h.appKey) {
		return protocol.Errorf(protocol.CodeUnauthorized, "unknown AppKey")
	}
	ts, err := strconv.ParseInt(cur, 10, 64)
	if err != nil {
		return protocol.Errorf(protocol.CodeUnauthorized, "CurTime must be unix seconds")
	}
	if d := time.Since(time.Unix(ts, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return protocol.Errorf(protocol.CodeUnauthorized, "CurTime is outside ±%s of server time", MaxClockSkew)
	}
	if !auth.CheckSumMatches(sum, h.appSecret, nonce, cur) {
		return protocol.Errorf(protocol.CodeUnauthorized, "bad CheckSum")
	}
	used, err := h.st.UseNonce(r.Context(), key, nonce)
	if err != nil {
		return err
	}
	if used {
		return protocol.Errorf(protocol.CodeUnauthorized, "Nonce already used")
	}
	return nil
}

type createUserRequest struct {
	Account string `json:"account"`
	Name    string `json:"name,omitempty"`
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, err)
		return
	}
	u, err := NewUser(r.Context(), h.st, req.Account, req.Name)
	if err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("user created", "account", u.Account)
	writeJSON(w, http.StatusOK, u)
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	accts, err := h.st.ListAccounts(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	users := make([]User, 0, len(accts))
	for _, a := range accts {
		users = append(users, User{Account: a.Account, Name: a.Name, CreatedAt: a.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

func (h *Handler) removeUser(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	err := h.st.DeleteAccount(r.Context(), account)
	missing := store.IsNotFound(err)
	if err != nil && !missing {
		writeError(w, err)
		return
	}
	if !missing {
		h.log.Info("user removed", "account", account)
		h.endSessions(r.Context(), account, nil)
	}
	// Also for a missing account: this completes an earlier removal whose
	// revocation failed.
	if err := revokeConsents(r.Context(), h.st, account); err != nil {
		h.log.Error("user removed, but revoking the consent of contact lists failed; remove it again", "account", account, "err", err)
		writeError(w, err)
		return
	}
	if missing {
		writeError(w, protocol.Errorf(protocol.CodeNotFound, "account %q not found", account))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (h *Handler) resetToken(w http.ResponseWriter, r *http.Request) {
	u, a, err := resetToken(r.Context(), h.st, r.PathValue("account"))
	if err != nil {
		writeError(w, err)
		return
	}
	h.log.Info("token reset", "account", u.Account)
	h.endSessions(r.Context(), u.Account, a)
	writeJSON(w, http.StatusOK, map[string]string{"account": u.Account, "token": u.Token})
}

// endSessions ends the sessions the change made invalid before the answer
// goes out. The change itself stands either way: a failure here is logged,
// and every gateway's accounts watch ends the sessions too.
func (h *Handler) endSessions(ctx context.Context, account string, a *store.Account) {
	if h.sessions == nil {
		return
	}
	if err := h.sessions.EndSessions(ctx, account, a); err != nil {
		h.log.Warn("ending sessions failed; the gateways' accounts watch ends them", "account", account, "err", err)
	}
}

// decodeBody decodes a request body strictly: at most maxBody bytes of
// valid UTF-8 (encoding/json would turn invalid bytes into U+FFFD and store
// them), one JSON object with known fields only, nothing after it.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return protocol.Errorf(protocol.CodeBadRequest, "body: %v", err)
	}
	if len(b) > maxBody {
		return protocol.Errorf(protocol.CodeTooLarge, "body exceeds %d bytes", maxBody)
	}
	if !utf8.Valid(b) {
		return protocol.Errorf(protocol.CodeBadRequest, "body: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return protocol.Errorf(protocol.CodeBadRequest, "body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return protocol.Errorf(protocol.CodeBadRequest, "body: data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps protocol codes to HTTP statuses; anything else is a 500
// whose details stay in the log.
func writeError(w http.ResponseWriter, err error) {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		status := http.StatusInternalServerError
		if errors.Is(err, context.DeadlineExceeded) {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]any{"code": int(protocol.CodeInternal), "error": "internal error"})
		return
	}
	status := int(pe.Code)
	if status < 400 || status > 599 {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]any{"code": int(pe.Code), "error": pe.Message})
}
