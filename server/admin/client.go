package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/softphone/softphone/server/auth"
)

// APIError is a non-2xx answer of the admin API.
type APIError struct {
	Status  int
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("admin API: %s (HTTP %d, code %d)", e.Message, e.Status, e.Code)
}

// Client calls the admin API, signing every request.
type Client struct {
	base      string
	appKey    string
	appSecret string
	hc        *http.Client
}

// NewClient returns a client for the server at baseURL (http://host:port).
// hc nil means a client with a 10 s timeout.
func NewClient(baseURL, appKey, appSecret string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), appKey: appKey, appSecret: appSecret, hc: hc}
}

// CreateUser creates account with display name; the result carries its token.
func (c *Client) CreateUser(ctx context.Context, account, name string) (User, error) {
	var u User
	err := c.do(ctx, http.MethodPost, "/admin/v1/users", createUserRequest{Account: account, Name: name}, &u)
	return u, err
}

// ListUsers lists every account (without tokens).
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	err := c.do(ctx, http.MethodGet, "/admin/v1/users", nil, &out)
	return out.Users, err
}

// RemoveUser deletes an account.
func (c *Client) RemoveUser(ctx context.Context, account string) error {
	return c.do(ctx, http.MethodDelete, "/admin/v1/users/"+url.PathEscape(account), nil, nil)
}

// ResetToken issues a new token for account; the old one stops working.
func (c *Client) ResetToken(ctx context.Context, account string) (User, error) {
	var u User
	err := c.do(ctx, http.MethodPost, "/admin/v1/users/"+url.PathEscape(account)+"/token", nil, &u)
	return u, err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("admin %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	nonce := auth.RandomID(32)
	cur := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("AppKey", c.appKey)
	req.Header.Set("Nonce", nonce)
	req.Header.Set("CurTime", cur)
	req.Header.Set("CheckSum", auth.CheckSum(c.appSecret, nonce, cur))
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("admin %s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		apiErr := &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
		var e struct {
			Code  int    `json:"code"`
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			apiErr.Code, apiErr.Message = e.Code, e.Error
		}
		return fmt.Errorf("admin %s %s: %w", method, path, apiErr)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("admin %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
